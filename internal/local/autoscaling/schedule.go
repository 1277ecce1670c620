package autoscaling

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Schedule tells when a scheduled action fires next.
type Schedule interface {
	// Next returns the first firing strictly after t, or the zero time
	// when there is none.
	Next(t time.Time) time.Time
}

// ParseSchedule parses an Application Auto Scaling schedule expression:
//
//	cron(Minutes Hours Day-of-month Month Day-of-week Year)
//	rate(N minute|minutes|hour|hours|day|days)
//	at(yyyy-mm-ddThh:mm:ss)
//
// cron() fields take *, lists (1,5), ranges (MON-FRI), steps (0/15, */5)
// and month and day names; one of the day fields must be '?', and days of
// the week count from 1 = SUN, as AWS's do (L, W and # are not
// supported). tz is an IANA time zone name for cron() and at() (default
// UTC), as a scheduled action's Timezone is. rate() counts from origin: it
// fires at origin plus every whole multiple of its period.
func ParseSchedule(expr, tz string, origin time.Time) (Schedule, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("time zone %q: %w", tz, err)
		}
		loc = l
	}
	expr = strings.TrimSpace(expr)
	inner := func(prefix string) (string, bool) {
		if strings.HasPrefix(expr, prefix+"(") && strings.HasSuffix(expr, ")") {
			return strings.TrimSpace(expr[len(prefix)+1 : len(expr)-1]), true
		}
		return "", false
	}
	if s, ok := inner("cron"); ok {
		c, err := parseCron(s, loc)
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %w", expr, err)
		}
		return c, nil
	}
	if s, ok := inner("rate"); ok {
		f := strings.Fields(s)
		if len(f) != 2 {
			return nil, fmt.Errorf("schedule %q: want rate(N unit)", expr)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("schedule %q: want a whole number of units above 0", expr)
		}
		unit := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour,
			"hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}[f[1]]
		if unit == 0 || (n == 1) != !strings.HasSuffix(f[1], "s") {
			return nil, fmt.Errorf("schedule %q: want a unit of minute(s), hour(s) or day(s), singular for 1", expr)
		}
		if n > maxRateDays*int(24*time.Hour/unit) {
			return nil, fmt.Errorf("schedule %q: want a period of at most %d days", expr, maxRateDays)
		}
		return rateSchedule{every: time.Duration(n) * unit, origin: origin}, nil
	}
	if s, ok := inner("at"); ok {
		t, err := time.ParseInLocation("2006-01-02T15:04:05", s, loc)
		if err != nil {
			return nil, fmt.Errorf("schedule %q: want at(yyyy-mm-ddThh:mm:ss)", expr)
		}
		return atSchedule(t), nil
	}
	return nil, fmt.Errorf("schedule %q: want cron(...), rate(...) or at(...)", expr)
}

// maxRateDays bounds a rate() period, so that it stays a time.Duration.
const maxRateDays = 10 * 366

type atSchedule time.Time

func (a atSchedule) Next(t time.Time) time.Time {
	if at := time.Time(a); at.After(t) {
		return at
	}
	return time.Time{}
}

type rateSchedule struct {
	every  time.Duration
	origin time.Time
}

func (r rateSchedule) Next(t time.Time) time.Time {
	if t.Before(r.origin) {
		return r.origin.Add(r.every)
	}
	d := t.Sub(r.origin)
	if d > math.MaxInt64/2 {
		return time.Time{} // over 146 years on: past any run, and past what a Duration holds
	}
	n := d/r.every + 1
	return r.origin.Add(n * r.every)
}

// cronSchedule is a parsed cron() expression: a set of allowed values per
// field.
type cronSchedule struct {
	minute, hour, dom, month, dow uint64 // bit i set: value i allowed
	domAny, dowAny                bool   // the field is '?'
	years                         [cronMaxYear - cronMinYear + 1]bool
	loc                           *time.Location
}

const (
	cronMinYear = 1970
	cronMaxYear = 2199
)

var (
	monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
		"JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
	dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
)

func parseCron(s string, loc *time.Location) (*cronSchedule, error) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return nil, fmt.Errorf("want 6 fields (minutes hours day-of-month month day-of-week year), got %d", len(f))
	}
	c := &cronSchedule{loc: loc}
	var err error
	if c.minute, _, err = cronField(f[0], 0, 59, nil); err != nil {
		return nil, fmt.Errorf("minutes: %w", err)
	}
	if c.hour, _, err = cronField(f[1], 0, 23, nil); err != nil {
		return nil, fmt.Errorf("hours: %w", err)
	}
	if c.dom, c.domAny, err = cronField(f[2], 1, 31, nil); err != nil {
		return nil, fmt.Errorf("day-of-month: %w", err)
	}
	if c.month, _, err = cronField(f[3], 1, 12, monthNames); err != nil {
		return nil, fmt.Errorf("month: %w", err)
	}
	if c.dow, c.dowAny, err = cronField(f[4], 1, 7, dayNames); err != nil {
		return nil, fmt.Errorf("day-of-week: %w", err)
	}
	if c.domAny == c.dowAny {
		return nil, fmt.Errorf("exactly one of day-of-month and day-of-week must be '?'")
	}
	if f[0] == "?" || f[1] == "?" || f[3] == "?" || f[5] == "?" {
		return nil, fmt.Errorf("'?' is only for a day field")
	}
	if f[5] == "*" {
		for i := range c.years {
			c.years[i] = true
		}
	} else {
		if err := cronYears(f[5], c); err != nil {
			return nil, fmt.Errorf("year: %w", err)
		}
	}
	return c, nil
}

// cronField parses one field into a bit set of the values lo..hi it
// allows; q reports a '?'.
func cronField(s string, lo, hi int, names map[string]int) (bits uint64, q bool, err error) {
	if s == "?" {
		for v := lo; v <= hi; v++ {
			bits |= 1 << v
		}
		return bits, true, nil
	}
	value := func(t string) (int, error) {
		if n, ok := names[strings.ToUpper(t)]; ok {
			return n, nil
		}
		n, err := strconv.Atoi(t)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%q: want %d to %d", t, lo, hi)
		}
		return n, nil
	}
	for _, part := range strings.Split(s, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			if step, err = strconv.Atoi(stepText); err != nil || step < 1 {
				return 0, false, fmt.Errorf("%q: bad step", part)
			}
		}
		from, to := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			if from, err = value(a); err != nil {
				return 0, false, err
			}
			if to, err = value(b); err != nil {
				return 0, false, err
			}
			if to < from {
				return 0, false, fmt.Errorf("%q: range ends before it starts", part)
			}
		default:
			if _, isName := names[strings.ToUpper(rng)]; !isName && strings.ContainsAny(rng, "LW#") {
				return 0, false, fmt.Errorf("%q: L, W and # are not supported", part)
			}
			if from, err = value(rng); err != nil {
				return 0, false, err
			}
			if !hasStep {
				to = from
			}
		}
		for v := from; v <= to; v += step {
			bits |= 1 << v
		}
	}
	return bits, false, nil
}

func cronYears(s string, c *cronSchedule) error {
	for _, part := range strings.Split(s, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		var err error
		if hasStep {
			if step, err = strconv.Atoi(stepText); err != nil || step < 1 {
				return fmt.Errorf("%q: bad step", part)
			}
		}
		from, to := cronMinYear, cronMaxYear
		parse := func(t string) (int, error) {
			n, err := strconv.Atoi(t)
			if err != nil || n < cronMinYear || n > cronMaxYear {
				return 0, fmt.Errorf("%q: want %d to %d", t, cronMinYear, cronMaxYear)
			}
			return n, nil
		}
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			if from, err = parse(a); err != nil {
				return err
			}
			if to, err = parse(b); err != nil {
				return err
			}
		default:
			if from, err = parse(rng); err != nil {
				return err
			}
			if !hasStep {
				to = from
			}
		}
		for y := from; y <= to; y += step {
			c.years[y-cronMinYear] = true
		}
	}
	return nil
}

func (c *cronSchedule) Next(after time.Time) time.Time {
	t := after.In(c.loc).Truncate(time.Minute).Add(time.Minute)
	// Each step moves to the start of the next candidate unit, so the
	// loop ends within a few thousand steps even for a sparse schedule.
	for range 100000 {
		y := t.Year()
		if y > cronMaxYear {
			return time.Time{}
		}
		if y < cronMinYear || !c.years[y-cronMinYear] {
			t = time.Date(y+1, 1, 1, 0, 0, 0, 0, c.loc)
			continue
		}
		if c.month&(1<<int(t.Month())) == 0 {
			t = time.Date(y, t.Month()+1, 1, 0, 0, 0, 0, c.loc)
			continue
		}
		if !c.dayOK(t) {
			t = time.Date(y, t.Month(), t.Day()+1, 0, 0, 0, 0, c.loc)
			continue
		}
		if c.hour&(1<<t.Hour()) == 0 {
			t = time.Date(y, t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, c.loc)
			continue
		}
		if c.minute&(1<<t.Minute()) == 0 {
			t = t.Add(time.Minute)
			continue
		}
		return t
	}
	return time.Time{}
}

func (c *cronSchedule) dayOK(t time.Time) bool {
	if c.domAny {
		return c.dow&(1<<(int(t.Weekday())+1)) != 0
	}
	return c.dom&(1<<t.Day()) != 0
}
