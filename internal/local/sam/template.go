package sam

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// Options are the facts of a local stack that its template does not hold.
type Options struct {
	// Parameters are parameter values, by name, that replace the
	// template's defaults (sam's --parameter-overrides).
	Parameters map[string]string
	// StackName is AWS::StackName (default: the template's directory's
	// name).
	StackName string
	// Region and AccountID are AWS::Region and AWS::AccountId (defaults
	// us-east-1 and 000000000000, as surge's local Lambda's ARNs).
	Region, AccountID string
	// Code gives the code directory of functions, by logical id or
	// function name, instead of their CodeUri: a build for this machine
	// of a function the template deploys built for another (surge's own,
	// deploy/aws/build.sh's dist/host).
	Code map[string]string
	// CacheDir is where a .zip CodeUri is unpacked and InlineCode written
	// (default surge/sam in the user's cache directory).
	CacheDir string
}

// The transform of SAM templates.
const serverlessTransform = "AWS::Serverless-2016-10-31"

// MaxTemplate is the largest template Load reads: CloudFormation's limit
// for a template in S3.
const MaxTemplate = 1 << 20

// Load reads the SAM template at path and returns the app it describes,
// as surge runs it locally. It fails on what CloudFormation would refuse
// too (a Ref to nothing, a parameter without a value, a condition that
// names itself) and on a function surge cannot run (no code directory);
// what surge does not run is listed in App.Unsupported.
func Load(path string, opt Options) (*App, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sam: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sam: %w", err)
	}
	if opt.StackName == "" {
		opt.StackName = stackName(filepath.Base(filepath.Dir(abs)))
	}
	app, err := Parse(data, filepath.Dir(abs), opt)
	if err != nil {
		return nil, fmt.Errorf("sam: %s: %w", path, err)
	}
	app.Path = abs
	return app, nil
}

// stackNameRe is what a stack's name may hold.
var stackNameRe = regexp.MustCompile(`[^A-Za-z0-9-]+`)

// stackName makes a stack name of a directory's name.
func stackName(dir string) string {
	s := strings.Trim(stackNameRe.ReplaceAllString(dir, "-"), "-")
	if s == "" || !(s[0] >= 'A' && s[0] <= 'Z' || s[0] >= 'a' && s[0] <= 'z') {
		s = "local-" + s
	}
	return strings.TrimSuffix(s[:min(len(s), 64)], "-")
}

// Parse reads a SAM template (YAML or JSON) whose relative paths are
// relative to dir; see Load.
func Parse(data []byte, dir string, opt Options) (*App, error) {
	if len(data) > MaxTemplate {
		return nil, fmt.Errorf("template of %d bytes: over CloudFormation's %d", len(data), MaxTemplate)
	}
	// goformation reads the YAML (its short-form tags, !Ref, !Sub, ...,
	// into their long forms); surge resolves the intrinsic functions
	// itself (see the package documentation).
	raw, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, err
	}
	var tpl map[string]any
	if err := json.Unmarshal(raw, &tpl); err != nil || tpl == nil {
		return nil, errors.New("the template is not an object")
	}
	if opt.StackName == "" {
		opt.StackName = "local"
	}
	if opt.Region == "" {
		opt.Region = "us-east-1"
	}
	if opt.AccountID == "" {
		opt.AccountID = "000000000000"
	}
	b := &builder{tpl: tpl, dir: dir, opt: opt, notes: &notes{}}
	b.app = &App{Dir: dir, StackName: opt.StackName, Outputs: map[string]string{}}
	b.app.Description, _ = tpl["Description"].(string)
	b.build()
	if err := b.notes.err(); err != nil {
		return nil, err
	}
	b.app.Unsupported = b.notes.list()
	return b.app, nil
}

// builder turns a template into an App.
type builder struct {
	tpl   map[string]any
	dir   string
	opt   Options
	notes *notes
	r     *resolver
	app   *App
	// resources are the resources the conditions keep, by logical id.
	resources map[string]map[string]any
	// functions and tables by logical id, and by local name.
	functions map[string]*Function
	tables    map[string]*Table
	apis      map[string]*API
	// globalAPI and globalHTTPAPI are Globals.Api and Globals.HttpApi,
	// for the implicit APIs; eventSettings are HttpApi routes' settings.
	globalAPI, globalHTTPAPI map[string]any
	eventSettings            []eventSetting
	implicitPlans            []*UsagePlan
}

// known are the top-level sections of a template.
var known = map[string]bool{"AWSTemplateFormatVersion": true, "Transform": true, "Description": true,
	"Parameters": true, "Conditions": true, "Resources": true, "Outputs": true, "Globals": true,
	"Mappings": true, "Metadata": true, "Rules": true}

func (b *builder) build() {
	n := b.notes
	for _, k := range sortedKeys(b.tpl) {
		if !known[k] {
			n.unsupported(k, "an unknown section; ignored")
		}
	}
	if _, ok := b.tpl["Rules"]; ok {
		n.unsupported("Rules", "parameter rules are not checked locally")
	}
	b.transforms()
	b.r = &resolver{tpl: b.tpl, params: b.parameters(), conds: map[string]*condition{},
		refs: map[string]any{}, atts: map[string]map[string]any{}, notes: n,
		pseud: map[string]any{
			"AWS::Region": b.opt.Region, "AWS::AccountId": b.opt.AccountID, "AWS::StackName": b.opt.StackName,
			"AWS::StackId":          "arn:aws:cloudformation:" + b.opt.Region + ":" + b.opt.AccountID + ":stack/" + b.opt.StackName + "/local",
			"AWS::Partition":        "aws",
			"AWS::URLSuffix":        "amazonaws.com",
			"AWS::NotificationARNs": []any{},
		}}
	if conds, ok := b.tpl["Conditions"].(map[string]any); ok {
		for name, expr := range conds {
			b.r.conds[name] = &condition{expr: expr}
		}
	}
	res, ok := b.tpl["Resources"].(map[string]any)
	if !ok || len(res) == 0 {
		n.errorf("Resources", "a template needs resources")
		return
	}
	b.resources = map[string]map[string]any{}
	for _, id := range sortedKeys(res) {
		r, ok := res[id].(map[string]any)
		if !ok {
			n.errorf("Resources."+id, "not an object")
			continue
		}
		if _, ok := r["Type"].(string); !ok {
			n.errorf("Resources."+id, "no Type")
			continue
		}
		for _, k := range sortedKeys(r) {
			switch k {
			case "Type", "Properties", "Condition", "DependsOn", "Metadata", "DeletionPolicy",
				"UpdateReplacePolicy", "UpdatePolicy", "CreationPolicy", "IgnoreServerlessAgnosticChecks":
			default:
				n.unsupported("Resources."+id+"."+k, "not a resource attribute of CloudFormation's; ignored")
			}
		}
		if c, ok := r["Condition"]; ok {
			name, _ := c.(string)
			if !b.r.cond(name, "Resources."+id+".Condition", 0) {
				continue // not created, as CloudFormation leaves it out
			}
		}
		b.resources[id] = r
	}
	b.names()
	b.mergeGlobals()
	b.functions, b.tables, b.apis = map[string]*Function{}, map[string]*Table{}, map[string]*API{}
	plans := &planBuilder{b: b}
	var scalings []string
	for _, id := range sortedKeys(b.resources) {
		b.resourceAttributes(id, b.resources[id])
	}
	for _, id := range sortedKeys(b.resources) {
		r := b.resources[id]
		typ := r["Type"].(string)
		path := "Resources." + id
		switch typ {
		case "AWS::Serverless::Function":
			b.function(id, r)
		case "AWS::Serverless::Api":
			b.api(id, r, false)
		case "AWS::Serverless::HttpApi":
			b.api(id, r, true)
		case "AWS::DynamoDB::Table":
			b.table(id, r)
		case "AWS::Serverless::SimpleTable":
			b.simpleTable(id, r)
		case "AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::UsagePlanKey":
			plans.add(id, typ, r)
		case "AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy":
			scalings = append(scalings, id) // after the functions and tables they scale
		default:
			n.unsupported(path, "%s is not run locally", typ)
		}
	}
	b.events()
	plans.build()
	b.scaling(scalings)
	b.outputs()
	for _, id := range sortedKeys(b.functions) {
		b.app.Functions = append(b.app.Functions, b.functions[id])
	}
	for _, id := range sortedKeys(b.tables) {
		b.app.Tables = append(b.app.Tables, b.tables[id])
	}
	for _, id := range sortedKeys(b.apis) {
		b.app.APIs = append(b.app.APIs, b.apis[id])
	}
}

// transforms checks the template's Transform: SAM's is the one surge
// reads; AWS::LanguageExtensions's functions are resolved; others are
// listed.
func (b *builder) transforms() {
	var ts []string
	switch t := b.tpl["Transform"].(type) {
	case string:
		ts = []string{t}
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				ts = append(ts, s)
			} else {
				b.notes.unsupported("Transform", "a macro with parameters is not run locally")
			}
		}
	}
	for _, t := range ts {
		switch t {
		case serverlessTransform, "AWS::LanguageExtensions":
		default:
			b.notes.unsupported("Transform", "%s is not run locally", t)
		}
	}
}

// parameters returns every parameter's value: the one given, else its
// default; a list type's value split at commas.
func (b *builder) parameters() map[string]any {
	n := b.notes
	out := map[string]any{}
	defs, _ := b.tpl["Parameters"].(map[string]any)
	for _, name := range sortedKeys(b.opt.Parameters) {
		if _, ok := defs[name]; !ok {
			n.errorf("Parameters", "--parameter-overrides gives %s, which the template does not declare", name)
		}
	}
	for _, name := range sortedKeys(defs) {
		def, _ := defs[name].(map[string]any)
		path := "Parameters." + name
		var v any
		if given, ok := b.opt.Parameters[name]; ok {
			v = given
		} else if d, ok := def["Default"]; ok {
			v = d
		} else {
			n.errorf(path, "no value: the template gives no default; give one with --parameter-overrides %s=VALUE", name)
			continue
		}
		typ, _ := def["Type"].(string)
		if allowed, ok := def["AllowedValues"].([]any); ok {
			found := false
			for _, a := range allowed {
				found = found || scalarString(a) == scalarString(v)
			}
			if !found {
				n.errorf(path, "%q is not one of its AllowedValues %s", scalarString(v), short(allowed))
			}
		}
		if typ == "Number" {
			f, ok := numberOf(v, path, n)
			if ok {
				if lo, ok := def["MinValue"]; ok {
					if m, _ := numberOf(lo, path+".MinValue", n); f < m {
						n.errorf(path, "%v is under its MinValue %v", f, m)
					}
				}
				if hi, ok := def["MaxValue"]; ok {
					if m, _ := numberOf(hi, path+".MaxValue", n); f > m {
						n.errorf(path, "%v is over its MaxValue %v", f, m)
					}
				}
			}
		}
		if typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
			var list []any
			if s := scalarString(v); s != "" {
				for _, e := range strings.Split(s, ",") {
					list = append(list, strings.TrimSpace(e))
				}
			}
			if l, ok := v.([]any); ok {
				list = l
			}
			if list == nil {
				list = []any{}
			}
			v = list
		}
		if strings.HasPrefix(typ, "AWS::SSM::Parameter::") {
			n.unsupported(path, "an SSM parameter is not read locally; its name stands for its value")
		}
		out[name] = v
	}
	return out
}

// names sets the local name of each function and table, the values of
// their Ref, before anything is resolved.
func (b *builder) names() {
	for _, id := range sortedKeys(b.resources) {
		r := b.resources[id]
		props, _ := r["Properties"].(map[string]any)
		switch r["Type"] {
		case "AWS::Serverless::Function":
			name := id
			if v, ok := props["FunctionName"]; ok {
				if s, ok := b.r.value(v, "Resources."+id+".Properties.FunctionName", 0).(string); ok && s != "" {
					name = s
				}
			}
			b.r.refs[id] = name
		case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
			name := b.opt.StackName + "-" + id
			if v, ok := props["TableName"]; ok {
				if s, ok := b.r.value(v, "Resources."+id+".Properties.TableName", 0).(string); ok && s != "" {
					name = s
				}
			}
			b.r.refs[id] = name
		}
	}
}

// resourceAttributes sets the local values of a resource's Ref and
// Fn::GetAtt.
func (b *builder) resourceAttributes(id string, r map[string]any) {
	o := b.opt
	arn := func(service, rest string) string {
		return "arn:aws:" + service + ":" + o.Region + ":" + o.AccountID + ":" + rest
	}
	atts := map[string]any{}
	switch r["Type"] {
	case "AWS::Serverless::Function":
		name := b.r.refs[id].(string)
		atts["Arn"] = arn("lambda", "function:"+name)
		props, _ := r["Properties"].(map[string]any)
		if alias, ok := props["AutoPublishAlias"].(string); ok {
			atts[".Alias"] = arn("lambda", "function:"+name+":"+alias)
			atts[".Version"] = arn("lambda", "function:"+name+":1")
			b.r.refs[id+"Alias"+alias] = atts[".Alias"]
		}
		b.r.refs[id+"Role"] = id + "Role"
		b.r.atts[id+"Role"] = map[string]any{"Arn": "arn:aws:iam::" + o.AccountID + ":role/" + id + "Role"}
	case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
		name := b.r.refs[id].(string)
		atts["Arn"] = arn("dynamodb", "table/"+name)
	case "AWS::Serverless::Api", "AWS::Serverless::HttpApi":
		// An API's id; locally its logical id, so that events name it.
		b.r.refs[id] = id
		atts["RootResourceId"] = "root"
		props, _ := r["Properties"].(map[string]any)
		stage := "$default"
		if s, ok := b.r.value(props["StageName"], "", 0).(string); ok && s != "" {
			stage = s
		}
		atts[".Stage"] = stage
		atts[".Deployment"] = strings.ToLower(id) + "-deployment"
		atts["ApiEndpoint"] = "http://127.0.0.1"
	case "AWS::IAM::Role":
		b.r.refs[id] = id
		atts["Arn"] = "arn:aws:iam::" + o.AccountID + ":role/" + id
		atts["RoleId"] = id
	default:
		b.r.refs[id] = id
	}
	b.r.atts[id] = atts
}

// resolved returns a resource's properties, resolved.
func (b *builder) resolved(id string) map[string]any {
	r := b.resources[id]
	raw, ok := r["Properties"]
	if !ok {
		return map[string]any{}
	}
	m, ok := b.r.value(raw, "Resources."+id+".Properties", 0).(map[string]any)
	if !ok {
		b.notes.errorf("Resources."+id+".Properties", "not an object")
		return map[string]any{}
	}
	return m
}

// outputs resolves the template's outputs with local values.
func (b *builder) outputs() {
	outs, _ := b.tpl["Outputs"].(map[string]any)
	for _, name := range sortedKeys(outs) {
		o, _ := outs[name].(map[string]any)
		if c, ok := o["Condition"].(string); ok && !b.r.cond(c, "Outputs."+name+".Condition", 0) {
			continue
		}
		quiet := &notes{}
		r := *b.r
		r.notes = quiet // an output's unresolvable parts are not the app's
		b.app.Outputs[name] = scalarString(r.value(o["Value"], "Outputs."+name+".Value", 0))
	}
}

// sortedIDs returns the logical ids of resources of typ, in order.
func (b *builder) sortedIDs(typ string) []string {
	var ids []string
	for id, r := range b.resources {
		if r["Type"] == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}
