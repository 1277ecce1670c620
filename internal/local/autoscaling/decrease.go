package autoscaling

import "time"

// DynamoDBDecreases is DynamoDB's default quota on decreases of a table's
// provisioned read or write capacity (developer guide, "Service, account,
// and table quotas", "Decreasing provisioned throughput"): a day is a UTC
// calendar day; a table may make up to four decreases within the first
// hour after its first decrease of the day, and after that one more
// decrease in any hour that had no decrease in the hour before it. That
// is at most 27 decreases a day (4 in the first hour, then 1 in each of
// the 23 others). Increases are not limited. The read and write capacity
// of a table are counted apart here, as each has its own Scaler; on AWS an
// UpdateTable that lowers both counts once.
func DynamoDBDecreases(now time.Time, past []time.Time) bool {
	day := now.UTC().Truncate(24 * time.Hour)
	var today []time.Time
	for _, t := range past {
		if !t.UTC().Before(day) && !t.After(now) {
			today = append(today, t)
		}
	}
	if len(today) == 0 {
		return true
	}
	if len(today) < 4 && now.Sub(today[0]) < time.Hour {
		return true // the first hour's four
	}
	return now.Sub(today[len(today)-1]) >= time.Hour
}
