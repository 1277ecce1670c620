package lambda

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseScheduledActions reads scheduled actions of provisioned concurrency,
// separated by ';', each SCHEDULE=MIN[:MAX] ("cron(0 8 ? * MON-FRI *)=10:50"),
// in the time zone tz.
func ParseScheduledActions(s, tz string) ([]ScheduledAction, error) {
	var out []ScheduledAction
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.LastIndex(part, "=")
		if i < 0 {
			return nil, fmt.Errorf("--function-schedule %q: want SCHEDULE=MIN[:MAX]", part)
		}
		a := ScheduledAction{Schedule: strings.TrimSpace(part[:i]), Timezone: tz}
		minText, maxText, hasMax := strings.Cut(part[i+1:], ":")
		var err error
		if a.Min, err = strconv.Atoi(strings.TrimSpace(minText)); err != nil || a.Min < 0 {
			return nil, fmt.Errorf("--function-schedule %q: want a minimum of 0 or more", part)
		}
		if hasMax {
			if a.Max, err = strconv.Atoi(strings.TrimSpace(maxText)); err != nil || a.Max < 1 {
				return nil, fmt.Errorf("--function-schedule %q: want a maximum of 1 or more", part)
			}
		}
		out = append(out, a)
	}
	return out, nil
}
