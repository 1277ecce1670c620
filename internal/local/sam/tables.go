package sam

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// table reads an AWS::DynamoDB::Table.
func (b *builder) table(id string, r map[string]any) {
	path := "Resources." + id + ".Properties"
	p := newProps(path, b.resolved(id), b.notes)
	t := &Table{LogicalID: id, Name: b.r.refs[id].(string), Attributes: map[string]string{}}
	p.get("TableName")
	for _, a := range p.list("AttributeDefinitions") {
		m, _ := a.(map[string]any)
		t.Attributes[scalarString(m["AttributeName"])] = scalarString(m["AttributeType"])
	}
	t.Keys = b.keySchema(p.list("KeySchema"), path+".KeySchema")
	switch mode := p.str("BillingMode"); mode {
	case "PAY_PER_REQUEST":
		t.OnDemand = true
	case "", "PROVISIONED":
		t.RCU, t.WCU = b.throughput(p.obj("ProvisionedThroughput"), path)
	default:
		b.notes.errorf(path+".BillingMode", "%q: want PROVISIONED or PAY_PER_REQUEST", mode)
	}
	for i, g := range p.list("GlobalSecondaryIndexes") {
		t.Indexes = append(t.Indexes, b.index(g, true, t.OnDemand, fmt.Sprintf("%s.GlobalSecondaryIndexes[%d]", path, i)))
	}
	for i, l := range p.list("LocalSecondaryIndexes") {
		t.Indexes = append(t.Indexes, b.index(l, false, true, fmt.Sprintf("%s.LocalSecondaryIndexes[%d]", path, i)))
	}
	if ttl := p.obj("TimeToLiveSpecification"); ttl != nil {
		if on, _ := ttl.boolean("Enabled"); on {
			t.TTLAttribute = ttl.str("AttributeName")
		}
		ttl.get("AttributeName")
		ttl.rest()
	}
	p.ignore("Tags", "SSESpecification", "DeletionProtectionEnabled", "TableClass")
	p.skip("streams are not run locally", "StreamSpecification", "KinesisStreamSpecification")
	p.skip("no backups locally: the local engine keeps its tables in memory", "PointInTimeRecoverySpecification")
	p.skip("not run locally", "ContributorInsightsSpecification", "ImportSourceSpecification",
		"OnDemandThroughput", "ResourcePolicy", "WarmThroughput")
	p.rest()
	if len(t.Keys) == 0 {
		b.notes.errorf(path+".KeySchema", "a table needs a key schema")
	}
	for _, k := range t.Keys {
		if _, ok := t.Attributes[k.Name]; !ok {
			b.notes.errorf(path+".AttributeDefinitions", "the key attribute %s has no definition", k.Name)
		}
	}
	b.tables[id] = t
}

// simpleTable reads an AWS::Serverless::SimpleTable: a table with one
// key, id of type String unless PrimaryKey says otherwise.
func (b *builder) simpleTable(id string, r map[string]any) {
	path := "Resources." + id + ".Properties"
	p := newProps(path, b.resolved(id), b.notes)
	t := &Table{LogicalID: id, Name: b.r.refs[id].(string), Attributes: map[string]string{}}
	p.get("TableName")
	name, typ := "id", "S"
	if pk := p.obj("PrimaryKey"); pk != nil {
		if n := pk.str("Name"); n != "" {
			name = n
		}
		switch v := pk.str("Type"); v {
		case "String", "":
		case "Number":
			typ = "N"
		case "Binary":
			typ = "B"
		default:
			b.notes.errorf(pk.path+".Type", "%q: want String, Number or Binary", v)
		}
		pk.rest()
	}
	t.Keys = []KeyElement{{Name: name, Type: "HASH"}}
	t.Attributes[name] = typ
	if pt := p.obj("ProvisionedThroughput"); pt != nil {
		t.RCU, t.WCU = b.throughput(pt, path)
	} else {
		t.OnDemand = true // SAM makes a SimpleTable without throughput PAY_PER_REQUEST
	}
	p.ignore("Tags", "SSESpecification")
	p.skip("no backups locally: the local engine keeps its tables in memory", "PointInTimeRecoverySpecification")
	p.rest()
	b.tables[id] = t
}

func (b *builder) keySchema(list []any, path string) []KeyElement {
	var out []KeyElement
	for _, k := range list {
		m, _ := k.(map[string]any)
		out = append(out, KeyElement{Name: scalarString(m["AttributeName"]), Type: scalarString(m["KeyType"])})
	}
	if len(out) == 0 || len(out) > 2 || out[0].Type != "HASH" || (len(out) == 2 && out[1].Type != "RANGE") {
		b.notes.errorf(path, "want a HASH key, and perhaps a RANGE key")
	}
	return out
}

// throughput reads a ProvisionedThroughput.
func (b *builder) throughput(p *props, path string) (rcu, wcu int) {
	if p == nil {
		b.notes.errorf(path, "a PROVISIONED table needs ProvisionedThroughput")
		return 1, 1
	}
	r, _ := p.num("ReadCapacityUnits")
	w, _ := p.num("WriteCapacityUnits")
	p.rest()
	if r < 1 || w < 1 {
		b.notes.errorf(p.path, "read and write capacity units of at least 1")
	}
	return int(r), int(w)
}

// index reads a secondary index.
func (b *builder) index(v any, global, onDemand bool, path string) Index {
	m, _ := v.(map[string]any)
	p := newProps(path, m, b.notes)
	ix := Index{Name: p.str("IndexName"), Global: global}
	ix.Keys = b.keySchema(p.list("KeySchema"), path+".KeySchema")
	if pr := p.obj("Projection"); pr != nil {
		ix.Projection = pr.str("ProjectionType")
		for _, a := range pr.list("NonKeyAttributes") {
			ix.NonKey = append(ix.NonKey, scalarString(a))
		}
		pr.rest()
	}
	if ix.Projection == "" {
		ix.Projection = "KEYS_ONLY"
	}
	if global && !onDemand {
		ix.RCU, ix.WCU = b.throughput(p.obj("ProvisionedThroughput"), path)
	}
	p.skip("not run locally", "ContributorInsightsSpecification", "OnDemandThroughput", "WarmThroughput")
	p.rest()
	return ix
}

// CreateTableInput is the CreateTable request of t.
func (t *Table) CreateTableInput() *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{TableName: aws.String(t.Name)}
	keys := func(ks []KeyElement) []types.KeySchemaElement {
		out := make([]types.KeySchemaElement, len(ks))
		for i, k := range ks {
			out[i] = types.KeySchemaElement{AttributeName: aws.String(k.Name), KeyType: types.KeyType(k.Type)}
		}
		return out
	}
	in.KeySchema = keys(t.Keys)
	for _, name := range sortedKeys(t.Attributes) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(name), AttributeType: types.ScalarAttributeType(t.Attributes[name])})
	}
	if t.OnDemand {
		in.BillingMode = types.BillingModePayPerRequest
	} else {
		in.BillingMode = types.BillingModeProvisioned
		in.ProvisionedThroughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(int64(t.RCU)), WriteCapacityUnits: aws.Int64(int64(t.WCU))}
	}
	for _, ix := range t.Indexes {
		proj := &types.Projection{ProjectionType: types.ProjectionType(ix.Projection)}
		if len(ix.NonKey) > 0 {
			proj.NonKeyAttributes = ix.NonKey
		}
		if ix.Global {
			g := types.GlobalSecondaryIndex{IndexName: aws.String(ix.Name), KeySchema: keys(ix.Keys), Projection: proj}
			if !t.OnDemand {
				g.ProvisionedThroughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(int64(ix.RCU)), WriteCapacityUnits: aws.Int64(int64(ix.WCU))}
			}
			in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, g)
		} else {
			in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{IndexName: aws.String(ix.Name), KeySchema: keys(ix.Keys), Projection: proj})
		}
	}
	return in
}

// CreateTables creates the app's tables through client (the local
// engine, or a front in front of it), each as its template declares it,
// with its time to live. A table that is there already is left as it is.
func CreateTables(ctx context.Context, client *dynamodb.Client, tables []*Table) error {
	for _, t := range tables {
		_, err := client.CreateTable(ctx, t.CreateTableInput())
		var inUse *types.ResourceInUseException
		switch {
		case errors.As(err, &inUse):
			continue
		case err != nil:
			return fmt.Errorf("sam: create table %s (%s): %w", t.Name, t.LogicalID, err)
		}
		if t.TTLAttribute != "" {
			if _, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(t.Name),
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)}}); err != nil {
				return fmt.Errorf("sam: time to live of table %s: %w", t.Name, err)
			}
		}
	}
	return nil
}

// scaling reads Application Auto Scaling's scalable targets and policies
// of the functions' provisioned concurrency and the tables' capacity.
func (b *builder) scaling(ids []string) {
	targets := map[string]*Scaling{}
	for _, id := range ids {
		if b.resources[id]["Type"] != "AWS::ApplicationAutoScaling::ScalableTarget" {
			continue
		}
		path := "Resources." + id + ".Properties"
		p := newProps(path, b.resolved(id), b.notes)
		s := &Scaling{}
		if v, ok := p.num("MinCapacity"); ok {
			s.Min = int(v)
		}
		if v, ok := p.num("MaxCapacity"); ok {
			s.Max = int(v)
		}
		for i, a := range p.list("ScheduledActions") {
			m, _ := a.(map[string]any)
			ap := newProps(fmt.Sprintf("%s.ScheduledActions[%d]", path, i), m, b.notes)
			sa := ScheduledAction{Name: ap.str("ScheduledActionName"), Schedule: ap.str("Schedule"), Timezone: ap.str("Timezone"), Min: -1, Max: -1}
			if t := ap.obj("ScalableTargetAction"); t != nil {
				if v, ok := t.num("MinCapacity"); ok {
					sa.Min = int(v)
				}
				if v, ok := t.num("MaxCapacity"); ok {
					sa.Max = int(v)
				}
				t.rest()
			}
			ap.skip("scheduled actions run from the time surge starts", "StartTime", "EndTime")
			ap.rest()
			s.Actions = append(s.Actions, sa)
		}
		ns, dim, res := p.str("ServiceNamespace"), p.str("ScalableDimension"), p.str("ResourceId")
		p.skip("Application Auto Scaling's role is not needed locally", "RoleARN")
		p.skip("not run locally", "SuspendedState")
		p.rest()
		switch {
		case ns == "lambda" && dim == "lambda:function:ProvisionedConcurrency":
			fnName, _, _ := strings.Cut(strings.TrimPrefix(res, "function:"), ":")
			fn := b.functionByName(fnName)
			if fn == nil {
				b.notes.errorf(path+".ResourceId", "%s: no function of the template", res)
				continue
			}
			fn.Scaling = s
		case ns == "dynamodb" && (dim == "dynamodb:table:ReadCapacityUnits" || dim == "dynamodb:table:WriteCapacityUnits"):
			t := b.tableByName(strings.TrimPrefix(res, "table/"))
			if t == nil {
				b.notes.errorf(path+".ResourceId", "%s: no table of the template", res)
				continue
			}
			if strings.HasSuffix(dim, "Read") || strings.HasSuffix(dim, "ReadCapacityUnits") {
				t.ReadScaling = s
			} else {
				t.WriteScaling = s
			}
		default:
			b.notes.unsupported("Resources."+id, "the scaling of %s %s is not run locally", ns, dim)
			continue
		}
		targets[id] = s
	}
	for _, id := range ids {
		if b.resources[id]["Type"] != "AWS::ApplicationAutoScaling::ScalingPolicy" {
			continue
		}
		path := "Resources." + id + ".Properties"
		p := newProps(path, b.resolved(id), b.notes)
		target := p.str("ScalingTargetId")
		p.ignore("PolicyName", "ResourceId", "ScalableDimension", "ServiceNamespace")
		if pt := p.str("PolicyType"); pt != "TargetTrackingScaling" {
			b.notes.unsupported(path+".PolicyType", "%s is not run locally (target tracking is)", pt)
			p.rest()
			continue
		}
		c := p.obj("TargetTrackingScalingPolicyConfiguration")
		p.rest()
		s, ok := targets[target]
		if !ok || c == nil {
			b.notes.unsupported("Resources."+id, "its scalable target %s is not run locally", target)
			continue
		}
		v, _ := c.num("TargetValue")
		if pm := c.obj("PredefinedMetricSpecification"); pm != nil {
			switch m := pm.str("PredefinedMetricType"); m {
			case "LambdaProvisionedConcurrencyUtilization":
				s.Target = v
			case "DynamoDBReadCapacityUtilization", "DynamoDBWriteCapacityUtilization":
				s.Target = v / 100
			default:
				b.notes.unsupported(pm.path+".PredefinedMetricType", "%s is not tracked locally", m)
			}
			pm.ignore("ResourceLabel")
			pm.rest()
		}
		c.skip("cooldowns: surge scales as Lambda's and DynamoDB's alarms do", "ScaleInCooldown", "ScaleOutCooldown")
		c.skip("not run locally", "DisableScaleIn", "CustomizedMetricSpecification")
		c.rest()
	}
}

func (b *builder) functionByName(name string) *Function {
	for _, fn := range b.functions {
		if fn.Name == name || fn.LogicalID == name {
			return fn
		}
	}
	return nil
}

func (b *builder) tableByName(name string) *Table {
	for _, t := range b.tables {
		if t.Name == name || t.LogicalID == name {
			return t
		}
	}
	return nil
}
