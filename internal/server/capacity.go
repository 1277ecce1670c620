package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/surgehq/surge/internal/api/listen"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/autoscaling"
	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/observe/metrics"
	"github.com/surgehq/surge/internal/store"
	"github.com/surgehq/surge/internal/store/dynamo"
)

// CapacityConfig is the capacity of the store's table, as DynamoDB's
// (package table): its mode, its provisioned units and their auto scaling
// (--table-*, YAML section table). The mode comes from Billing, else from
// the store URL (billing=provisioned&rcu=N&wcu=N), else, for a DynamoDB
// table on a local engine (an endpoint), from the table itself as `surge
// table create` made it (DescribeTable), else it is on-demand.
type CapacityConfig struct {
	// Billing is auto, on-demand or provisioned (--table-billing).
	Billing string `flag:"table-billing" enum:"auto,on-demand,provisioned" help:"the table's capacity mode: on-demand, provisioned (with --table-rcu and --table-wcu), or auto: the store URL's billing=, else a local DynamoDB table's own mode, else on-demand"`
	// RCU and WCU are the provisioned read and write capacity units a
	// second (--table-rcu, --table-wcu).
	RCU int `flag:"table-rcu" help:"provisioned read capacity units a second (the seed: 20)"`
	WCU int `flag:"table-wcu" help:"provisioned write capacity units a second (the seed: 10)"`
	// TargetUtilization turns on auto scaling: target tracking of consumed
	// over provisioned capacity, 0.2 to 0.9 (--table-target-utilization).
	TargetUtilization float64 `flag:"table-target-utilization" help:"auto scaling of a provisioned table: target utilisation of consumed over provisioned capacity, 0.2 to 0.9 (the seed: 0.7); 0 turns it off"`
	// MinRCU, MaxRCU, MinWCU and MaxWCU bound auto scaling (default: the
	// provisioned units, and 10 times them).
	MinRCU int `flag:"table-min-rcu" help:"auto scaling's least read capacity (default: the provisioned)"`
	MaxRCU int `flag:"table-max-rcu" help:"auto scaling's most read capacity (default: 10 times the provisioned)"`
	MinWCU int `flag:"table-min-wcu" help:"auto scaling's least write capacity (default: the provisioned)"`
	MaxWCU int `flag:"table-max-wcu" help:"auto scaling's most write capacity (default: 10 times the provisioned)"`
	// Schedule is auto scaling's scheduled actions, separated by ';', each
	// SCHEDULE=read|write:MIN[:MAX] (--table-schedule), in
	// ScheduleTimezone.
	Schedule         string `flag:"table-schedule" help:"scheduled actions of auto scaling, separated by ';': SCHEDULE=read:MIN[:MAX] or SCHEDULE=write:MIN[:MAX], SCHEDULE being cron(...), rate(...) or at(...) as in Application Auto Scaling"`
	ScheduleTimezone string `flag:"table-schedule-timezone" help:"IANA time zone of the table's scheduled actions"`
	// Compression makes table time run faster than the clock, for the lab
	// (--table-time-compression; 1 is real time).
	Compression float64 `flag:"table-time-compression" help:"table time runs this many times faster than the clock (a lab's factor): refill, auto scaling's one-minute periods, schedules and the daily limit on decreases follow it; 1 is real time"`
	// Burst is how much unused capacity a provisioned table keeps
	// (--table-burst; DynamoDB: 300 s).
	Burst time.Duration `flag:"table-burst" help:"unused capacity a provisioned table keeps, as time at its rate (DynamoDB: 300s)"`
	// Retries is how many attempts a throttled operation gets, the first
	// included, as the AWS SDK's standard retryer (--table-retries).
	Retries int `flag:"table-retries" help:"attempts of an operation the table throttles, the first included, with the AWS SDK's backoff (the SDK's DynamoDB client: 4); then 503"`
}

// defaultCapacity is CapacityConfig's default.
func defaultCapacity() CapacityConfig {
	return CapacityConfig{Billing: "auto", ScheduleTimezone: "UTC", Compression: 1, Burst: table.DefaultBurst, Retries: 4}
}

// validate reports what is wrong with c, seen without the store.
func (c *CapacityConfig) validate() []error {
	var errs []error
	if c.Billing == string(table.Provisioned) {
		if c.RCU < 1 || c.WCU < 1 {
			errs = append(errs, errors.New("--table-billing provisioned needs --table-rcu and --table-wcu of at least 1"))
		}
	} else if c.RCU != 0 || c.WCU != 0 {
		errs = append(errs, errors.New("--table-rcu and --table-wcu go with --table-billing provisioned"))
	}
	if t := c.TargetUtilization; t != 0 && (t < 0.2 || t > 0.9) {
		errs = append(errs, fmt.Errorf("--table-target-utilization %v: DynamoDB takes 0.2 to 0.9", t))
	}
	if c.Compression < 1 {
		errs = append(errs, fmt.Errorf("--table-time-compression %v: want 1 or more", c.Compression))
	}
	if c.Retries < 1 {
		errs = append(errs, fmt.Errorf("--table-retries %d: want 1 or more", c.Retries))
	}
	if _, _, err := c.actions(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// actions parses the scheduled actions, by kind.
func (c *CapacityConfig) actions() (read, write []autoscaling.Action, err error) {
	for i, part := range strings.Split(c.Schedule, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		at := strings.LastIndex(part, "=")
		if at < 0 {
			return nil, nil, fmt.Errorf("--table-schedule %q: want SCHEDULE=read|write:MIN[:MAX]", part)
		}
		a := autoscaling.Action{Name: "schedule-" + strconv.Itoa(i+1), Schedule: strings.TrimSpace(part[:at]), Timezone: c.ScheduleTimezone}
		if _, err := autoscaling.ParseSchedule(a.Schedule, a.Timezone, time.Now()); err != nil {
			return nil, nil, fmt.Errorf("--table-schedule %q: %w", part, err)
		}
		fields := strings.Split(part[at+1:], ":")
		if len(fields) < 2 || len(fields) > 3 {
			return nil, nil, fmt.Errorf("--table-schedule %q: want SCHEDULE=read|write:MIN[:MAX]", part)
		}
		if a.Min, err = strconv.Atoi(strings.TrimSpace(fields[1])); err != nil || a.Min < 1 {
			return nil, nil, fmt.Errorf("--table-schedule %q: want a minimum of 1 or more", part)
		}
		if len(fields) == 3 {
			if a.Max, err = strconv.Atoi(strings.TrimSpace(fields[2])); err != nil || a.Max < a.Min {
				return nil, nil, fmt.Errorf("--table-schedule %q: want a maximum of at least the minimum", part)
			}
		}
		switch strings.TrimSpace(fields[0]) {
		case "read":
			read = append(read, a)
		case "write":
			write = append(write, a)
		default:
			return nil, nil, fmt.Errorf("--table-schedule %q: the capacity is read or write", part)
		}
	}
	return read, write, nil
}

// tableConfig returns the configuration of the table that u names, given
// its mode and capacity (from the settings, the URL or the table).
func (c *CapacityConfig) tableConfig(name string, mode table.Mode, rcu, wcu int, now func() time.Time, log *slog.Logger,
	obs table.Observer) (table.Config, error) {
	tc := table.Config{Name: name, Mode: mode, Burst: c.Burst, Compression: c.Compression, Now: now, Log: log, Observer: obs}
	if mode != table.Provisioned {
		return tc, nil
	}
	tc.RCU, tc.WCU = rcu, wcu
	read, write, err := c.actions()
	if err != nil {
		return tc, err
	}
	if c.TargetUtilization > 0 || len(read)+len(write) > 0 {
		dim := func(prov, lo, hi int, acts []autoscaling.Action) table.Dimension {
			if lo == 0 {
				lo = prov
			}
			if hi == 0 {
				hi = 10 * prov
			}
			return table.Dimension{Min: min(lo, prov), Max: max(hi, prov), Target: c.TargetUtilization, Actions: acts}
		}
		tc.Scaling = table.Scaling{Read: dim(rcu, c.MinRCU, c.MaxRCU, read), Write: dim(wcu, c.MinWCU, c.MaxWCU, write)}
	}
	return tc, nil
}

// modeOf is the table mode of a billing mode.
func modeOf(billing string) table.Mode {
	if billing == store.BillingProvisioned {
		return table.Provisioned
	}
	return table.OnDemand
}

// capacity is the running table of a Server: its capacity, the front of
// the DynamoDB API that function instances reach it through, and the
// ticker of its schedules.
type capacity struct {
	tables *table.Tables
	table  *table.Table
	front  *http.Server // with functions on a local DynamoDB engine
	stop   context.CancelFunc
	done   chan struct{}
}

// openCapacity makes the table of the store u names, as cfg says, and
// puts its capacity layer around st.
func (s *Server) openCapacity(ctx context.Context, u *store.URL, st items.Store, m *metrics.Table) (items.Store, error) {
	cfg := &s.cfg
	c := &cfg.Capacity
	mode, rcu, wcu, from := table.OnDemand, 0, 0, "default"
	switch {
	case c.Billing != "auto":
		mode, rcu, wcu, from = modeOf(c.Billing), c.RCU, c.WCU, "settings"
	case u.Billing != "":
		mode, rcu, wcu, from = modeOf(u.Billing), u.RCU, u.WCU, "store URL"
	case u.Scheme == store.SchemeDynamoDB && u.Endpoint != "":
		if m, r, w, err := describeCapacity(ctx, u); err != nil {
			s.log.Warn("table capacity: cannot read the table's mode; on-demand", "table", u.Table, "err", err)
		} else {
			mode, rcu, wcu, from = m, r, w, "the table"
		}
	}
	name := cfg.Table
	if u.Scheme == store.SchemeDynamoDB {
		name = u.Table
	}
	var obs table.Observer = m
	if o := cfg.Observers.Table; o != nil {
		obs = tableObservers{m, o}
	}
	tc, err := c.tableConfig(name, mode, rcu, wcu, cfg.Now, s.log, obs)
	if err != nil {
		return nil, err
	}
	s.cap = &capacity{tables: table.NewTables(table.Config{Compression: c.Compression, Now: cfg.Now, Log: s.log, Observer: obs})}
	if s.cap.table, err = s.cap.tables.Add(tc); err != nil {
		return nil, err
	}
	m.Watch(s.cap.table)
	attrs := []any{"table", name, "mode", mode, "from", from}
	if mode == table.Provisioned {
		attrs = append(attrs, "rcu", rcu, "wcu", wcu, "burst", tc.Burst)
		if d := tc.Scaling.Write; d.Max > 0 {
			attrs = append(attrs, "auto_scaling_target", d.Target, "read_bounds", fmt.Sprint(tc.Scaling.Read.Min, "-", tc.Scaling.Read.Max),
				"write_bounds", fmt.Sprint(d.Min, "-", d.Max))
		}
	}
	if c.Compression > 1 {
		attrs = append(attrs, "time_compression", c.Compression)
	}
	s.log.Info("table capacity", attrs...)
	// Schedules and one-minute periods run without traffic too.
	tctx, stop := context.WithCancel(context.Background())
	s.cap.stop, s.cap.done = stop, make(chan struct{})
	every := max(10*time.Millisecond, time.Duration(float64(time.Second)/c.Compression))
	go func() {
		defer close(s.cap.done)
		s.cap.tables.Run(tctx, every)
	}()
	return table.NewStore(st, s.cap.table, table.StoreConfig{Retryer: table.Retryer{MaxAttempts: c.Retries}, Observer: m}), nil
}

// describeCapacity reads the mode and provisioned capacity of the
// DynamoDB table u names.
func describeCapacity(ctx context.Context, u *store.URL) (table.Mode, int, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := dynamo.NewClient(ctx, u)
	if err != nil {
		return "", 0, 0, err
	}
	out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(u.Table)})
	if err != nil {
		return "", 0, 0, err
	}
	t := out.Table
	if t.BillingModeSummary != nil && t.BillingModeSummary.BillingMode == types.BillingModePayPerRequest {
		return table.OnDemand, 0, 0, nil
	}
	pt := t.ProvisionedThroughput
	if pt == nil || aws.ToInt64(pt.ReadCapacityUnits) < 1 || aws.ToInt64(pt.WriteCapacityUnits) < 1 {
		return table.OnDemand, 0, 0, nil
	}
	return table.Provisioned, int(aws.ToInt64(pt.ReadCapacityUnits)), int(aws.ToInt64(pt.WriteCapacityUnits)), nil
}

// Table returns the capacity of the store's table.
func (s *Server) Table() *table.Table {
	if s.cap == nil {
		return nil
	}
	return s.cap.table
}

// sharesTable reports whether function instances must reach the store
// through this process, so that its table charges them: every store but
// DynamoDB, which a front of the DynamoDB API charges instead (or, on
// AWS, DynamoDB itself).
func (s *Server) sharesTable() bool {
	u, err := store.Parse(s.cfg.storeURL())
	return err == nil && u.Scheme != store.SchemeDynamoDB
}

// serveFront serves the DynamoDB API of a local engine to the function
// instances through the table's front, which charges their calls to the
// table (and throttles them as DynamoDB would), and returns its URL.
func (c *capacity) serveFront(engine string, creds frontCredentials, limits listen.Limits, log *slog.Logger) (string, error) {
	f, err := table.NewFront(table.FrontConfig{Engine: engine, Tables: c.tables, Log: log})
	if err != nil {
		return "", err
	}
	ln, err := listen.Listen("127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for the table front: %w", err)
	}
	c.front = limits.Server(creds.guard(f), log)
	go c.front.Serve(ln)
	url := "http://" + ln.Addr().String()
	log.Info("table front: function instances reach DynamoDB through it", "front", url, "engine", engine)
	return url, nil
}

// close stops the ticker and the front.
func (c *capacity) close() {
	if c == nil {
		return
	}
	if c.front != nil {
		_ = c.front.Close()
	}
	if c.stop != nil {
		c.stop()
		<-c.done
	}
}

// frontEnvironment points the function instances' DynamoDB at the
// table's front when the store is DynamoDB on a local engine, and returns
// the store URL and endpoint they get, and the environment that points
// an AWS SDK of any runtime there (AWS_ENDPOINT_URL_DYNAMODB).
func (s *Server) frontEnvironment(storeURL string) (string, string, []string, error) {
	u, err := store.Parse(storeURL)
	if err != nil || u.Scheme != store.SchemeDynamoDB || u.Endpoint == "" || s.cap == nil {
		return storeURL, "", nil, err
	}
	creds := newFrontCredentials()
	front, err := s.cap.serveFront(u.Endpoint, creds, s.cfg.HTTP.frontLimits(), s.log)
	if err != nil {
		return "", "", nil, err
	}
	u.Endpoint = front
	return u.String(), front, append([]string{"AWS_ENDPOINT_URL_DYNAMODB=" + front}, creds.env...), nil
}

// tableObservers tells each of its observers.
type tableObservers []table.Observer

func (os tableObservers) Consumed(t string, k table.Kind, units float64) {
	for _, o := range os {
		o.Consumed(t, k, units)
	}
}

func (os tableObservers) Throttled(t string, k table.Kind) {
	for _, o := range os {
		o.Throttled(t, k)
	}
}

func (os tableObservers) CapacityChanged(c table.Change) {
	for _, o := range os {
		o.CapacityChanged(c)
	}
}
