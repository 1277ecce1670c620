package postman_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load/postman"
)

// scriptCollection is a one-request collection with the given test and
// pre-request scripts.
func scriptCollection(t testing.TB, test, pre []string) []byte {
	t.Helper()
	var events []map[string]any
	if pre != nil {
		events = append(events, map[string]any{"listen": "prerequest", "script": map[string]any{"exec": pre}})
	}
	if test != nil {
		events = append(events, map[string]any{"listen": "test", "script": map[string]any{"exec": test}})
	}
	b, err := json.Marshal(map[string]any{
		"info": map[string]any{"name": "C", "schema": postman.SchemaV21},
		"item": []any{map[string]any{"name": "R", "event": events,
			"request": map[string]any{"method": "GET", "url": "http://127.0.0.1/x"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// describe lists a request's actions as "check ..." and "capture ...".
func describe(r *postman.Request) []string {
	var out []string
	for _, c := range r.Pre {
		out = append(out, "pre "+c.String())
	}
	for _, a := range r.Actions {
		if a.Check != nil {
			s := "check " + a.Check.String()
			if a.Check.Test != "" {
				s += " [" + a.Check.Test + "]"
			}
			out = append(out, s)
		} else {
			out = append(out, "capture "+a.Capture.String())
		}
	}
	return out
}

func TestScriptRecognition(t *testing.T) {
	cases := []struct {
		name   string
		test   []string
		pre    []string
		want   []string
		issues []string // the lines of the issues, "test:3" or "prerequest:1-2"
	}{
		{name: "status", test: []string{`pm.response.to.have.status(201);`}, want: []string{"check status == 201"}},
		{name: "pm.test wrapper", test: []string{
			`pm.test("Status code is 201", function () {`,
			`    pm.response.to.have.status(201);`,
			`});`,
			`pm.test("arrow", () => { pm.response.to.have.status(200) })`,
		}, want: []string{"check status == 201 [Status code is 201]", "check status == 200 [arrow]"}},
		{name: "expect code", test: []string{
			`pm.expect(pm.response.code).to.eql(201);`,
			`pm.expect(pm.response.code).to.equal(202);`,
			`pm.expect(pm.response.code).to.be.oneOf([200, 201]);`,
			`pm.expect([200, 204]).to.include(pm.response.code);`,
			`pm.expect(pm.response.code).to.not.eql(500);`,
		}, want: []string{"check status == 201", "check status == 202", "check status one of [200, 201]",
			"check status one of [200, 204]", "check status not == 500"}},
		{name: "status classes", test: []string{
			`pm.response.to.be.ok;`, `pm.response.to.be.success;`, `pm.response.to.not.be.error;`,
			`pm.response.to.have.status("Created");`,
		}, want: []string{"check status == 200", "check status in 200..299", "check status not in 400..599",
			`check status text == "Created"`}},
		{name: "body values", test: []string{
			`var jsonData = pm.response.json();`,
			`pm.expect(jsonData.name).to.eql("lamp");`,
			`pm.expect(pm.response.json().data.items[0].price).to.equal(12.5);`,
			`pm.expect(jsonData.ok).to.be.true;`,
			`pm.expect(jsonData).to.have.property("id");`,
			`pm.expect(jsonData.tags).to.be.an("array").that.is.not.empty;`,
			`pm.expect(jsonData.count).to.be.above(0);`,
			`pm.expect(pm.response.text()).to.include("lamp");`,
			`pm.expect(jsonData.id).to.eql(pm.environment.get("id"));`,
		}, want: []string{`check body.name == "lamp"`, "check body.data.items[0].price == 12.5", "check body.ok == true",
			"check body.id present", "check body.tags is array", "check body.tags not empty", "check body.count > 0",
			`check body text contains "lamp"`, "check body.id == {{id}}"}},
		{name: "headers and time", test: []string{
			`pm.response.to.have.header("Content-Type");`,
			`pm.response.to.have.header("X-Cache", "Hit");`,
			`pm.expect(pm.response.headers.get("Content-Type")).to.include("json");`,
			`pm.expect(pm.response.responseTime).to.be.below(200);`,
			`pm.response.to.be.json;`,
		}, want: []string{"check header Content-Type present", `check header X-Cache == "Hit"`,
			`check header Content-Type contains "json"`, "check response time < 200", "check body text is JSON"}},
		{name: "captures of every scope", test: []string{
			`pm.environment.set("id", pm.response.json().id);`,
			`pm.collectionVariables.set("cid", pm.response.json().data.items[0].id);`,
			`pm.variables.set("v", pm.response.json()["odd key"]);`,
			`pm.globals.set("g", pm.response.headers.get("ETag"));`,
			`pm.environment.set("loc", pm.response.headers.get("Location").split("/").pop());`,
			`pm.environment.unset("old");`,
		}, want: []string{"capture environment.id = body.id", "capture collectionVariables.cid = body.data.items[0].id",
			"capture variables.v = body.odd key", "capture globals.g = header ETag",
			`capture environment.loc = header Location.split("/").pop()`, "capture unset environment.old"}},
		{name: "aliases and legacy forms", test: []string{
			`var data = JSON.parse(responseBody);`,
			`var user = data.user || {};`,
			`postman.setEnvironmentVariable("token", user.token);`,
			`postman.setGlobalVariable("loc", postman.getResponseHeader("Location"));`,
			`tests["status 200"] = responseCode.code === 200;`,
			`tests["has token"] = user.hasOwnProperty("token");`,
			`tests["token set"] = pm.environment.get("token") === user.token;`,
			`tests["no error"] = !("error" in data);`,
			`tests["iso"] = /^\d{4}-\d\d$/.test(data.month);`,
		}, want: []string{"capture environment.token = body.user.token", "capture globals.loc = header Location",
			"check status == 200 [status 200]", "check body.user.token present [has token]",
			"check {{token}} == body.user.token [token set]", "check body.error not present [no error]",
			`check body.month matches /^\d{4}-\d\d$/ [iso]`}},
		{name: "conditions", test: []string{
			`if (pm.response.code === 201) {`,
			`    pm.environment.set("id", pm.response.json().id);`,
			`} else {`,
			`    pm.expect(pm.response.json().error).to.eql("conflict");`,
			`}`,
		}, want: []string{"capture environment.id = body.id",
			`check body.error == "conflict" (when status not == 201)`}},
		{name: "template literals", test: []string{
			"pm.environment.set(`id`, pm.response.json().id);",
			"pm.environment.set(`x`, `${pm.response.json().id}`);",
		}, want: []string{"capture environment.id = body.id"}, issues: []string{"test:2"}},
		{name: "several on a line, comments, console", test: []string{
			`// a comment`,
			`pm.response.to.have.status(200); console.log("x"); /* more */ pm.expect(pm.response.code).to.eql(200)`,
			``,
		}, want: []string{"check status == 200", "check status == 200"}},
		{name: "not understood, reported once each", test: []string{
			`pm.sendRequest("http://x", function (err, res) {`,
			`    pm.environment.set("t", res.json().token);`,
			`});`,
			`postman.setNextRequest("Login");`,
			`for (var i = 0; i < 3; i++) {`,
			`    pm.expect(i).to.be.below(3);`,
			`}`,
			`pm.expect(pm.response.json()).to.have.all.keys("a", "b");`,
			`pm.response.to.have.status(200);`,
		}, want: []string{"check status == 200"}, issues: []string{"test:1-3", "test:4", "test:5-7", "test:8"}},
		{name: "a condition not understood", test: []string{
			`if (Math.random() > 0.5) {`,
			`    pm.response.to.have.status(200);`,
			`} else {`,
			`    pm.response.to.have.status(201);`,
			`}`,
		}, want: []string{"check status == 200"}, issues: []string{"test:1", "test:3-5"}},
		{name: "pre-request settings", pre: []string{
			`pm.environment.set("name", "lamp");`,
			`pm.collectionVariables.set("rid", pm.variables.replaceIn("r-{{$guid}}"));`,
			`pm.variables.set("n", 42);`,
			`pm.expect(1).to.eql(1);`,
		}, want: []string{`pre environment.name = "lamp"`, `pre collectionVariables.rid = "r-{{$guid}}"`,
			`pre variables.n = "42"`}, issues: []string{"prerequest:4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, scriptCollection(t, tc.test, tc.pre), postman.Options{})
			if got := describe(c.Requests[0]); !slices.Equal(got, tc.want) {
				t.Errorf("recognised\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			var issues []string
			for _, iss := range c.Issues {
				at := iss.Script + ":" + strconv.Itoa(iss.Line)
				if iss.EndLine > iss.Line {
					at += "-" + strconv.Itoa(iss.EndLine)
				}
				issues = append(issues, at)
				if iss.Where != "C / R" || iss.Text == "" || iss.Reason == "" {
					t.Errorf("issue %+v lacks its place, text or reason", iss)
				}
			}
			if !slices.Equal(issues, tc.issues) {
				t.Errorf("issues at %v, want %v (%v)", issues, tc.issues, c.Issues)
			}
		})
	}
}

// fakeHeader is a response's headers for judging.
type fakeHeader map[string]string

func (h fakeHeader) Peek(name string) []byte {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return []byte(v)
		}
	}
	return nil
}

func TestJudge(t *testing.T) {
	body := `{"id":"a1","name":"lamp","price":12.5,"n":3,"ok":true,"tags":["x","y"],"none":null,
		"data":{"items":[{"id":7}]},"esc":"a\"b","empty":[],"text":"caf\u00e9"}`
	res := &postman.Response{Status: 201, Body: []byte(body), Elapsed: 150 * time.Millisecond,
		Header: fakeHeader{"Content-Type": "application/json", "Location": "/items/a1", "ETag": `"v1"`}}
	cases := []struct {
		line string
		pass bool
	}{
		{`pm.response.to.have.status(201);`, true},
		{`pm.response.to.have.status(200);`, false},
		{`pm.response.to.be.success;`, true},
		{`pm.response.to.be.ok;`, false},
		{`pm.response.to.be.created;`, false}, // not a Postman status class: not understood, no check
		{`pm.expect(pm.response.code).to.be.oneOf([200, 201]);`, true},
		{`pm.expect(pm.response.json().name).to.eql("lamp");`, true},
		{`pm.expect(pm.response.json().name).to.eql("lampe");`, false},
		{`pm.expect(pm.response.json().price).to.eql(12.5);`, true},
		{`pm.expect(pm.response.json().price).to.eql("12.5");`, false},
		{`tests["loose"] = pm.response.json().price == "12.5";`, true},
		{`pm.expect(pm.response.json().ok).to.be.true;`, true},
		{`pm.expect(pm.response.json().none).to.be.null;`, true},
		{`pm.expect(pm.response.json().missing).to.be.undefined;`, true},
		{`pm.expect(pm.response.json().none).to.exist;`, false},
		{`pm.expect(pm.response.json().esc).to.eql("a\"b");`, true},
		{`pm.expect(pm.response.json().text).to.eql("café");`, true},
		{`pm.expect(pm.response.json().tags).to.include("y");`, true},
		{`pm.expect(pm.response.json().tags).to.have.lengthOf(2);`, true},
		{`pm.expect(pm.response.json().empty).to.be.empty;`, true},
		{`pm.expect(pm.response.json().data.items[0].id).to.be.a("number");`, true},
		{`pm.expect(pm.response.json().n).to.be.within(1, 3);`, true},
		{`pm.expect(pm.response.json().n).to.be.below(3);`, false},
		{`pm.expect(pm.response.json()).to.have.property("name", "lamp");`, true},
		{`pm.expect(pm.response.headers.get("Location")).to.eql("/items/a1");`, true},
		{`pm.response.to.have.header("ETag", "\"v1\"");`, true},
		{`pm.response.to.have.header("X-Missing");`, false},
		{`pm.expect(pm.response.responseTime).to.be.below(200);`, true},
		{`pm.expect(pm.response.responseTime).to.be.below(100);`, false},
		{`pm.response.to.have.jsonBody("data.items[0].id", 7);`, true},
		{`tests["x"] = responseBody.has("lamp");`, true},
		{`tests["x"] = Number.isInteger(pm.response.json().price);`, false},
		{`pm.expect(pm.response.json().name).to.match(/^LA/i);`, true},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			c := mustParse(t, scriptCollection(t, []string{tc.line}, nil), postman.Options{})
			checks := c.Requests[0].Checks()
			if strings.Contains(tc.line, "created") {
				if len(checks) != 0 || len(c.Issues) != 1 {
					t.Fatalf("want no check and one issue, got %v and %v", checks, c.Issues)
				}
				return
			}
			if len(checks) == 0 {
				t.Fatalf("no check recognised; issues %v", c.Issues)
			}
			o := c.Requests[0].Judge(res, postman.NewScope(c, nil, nil))
			if got := len(o.Failures) == 0; got != tc.pass {
				t.Errorf("passed %v, want %v (%v)", got, tc.pass, checks)
			}
		})
	}
}

func TestCaptureApply(t *testing.T) {
	c := mustParse(t, scriptCollection(t, []string{
		`pm.environment.set("id", pm.response.json().data.items[0].id);`,
		`pm.collectionVariables.set("etag", pm.response.headers.get("ETag"));`,
		`pm.globals.set("last", pm.response.headers.get("Location").split("/").pop());`,
		`pm.variables.set("obj", JSON.stringify(pm.response.json().data));`,
		`pm.environment.set("missing", pm.response.json().nope);`,
		`pm.expect(pm.response.json().data.items[0].id).to.eql(pm.environment.get("id"));`,
	}, nil), postman.Options{})
	s := postman.NewScope(c, nil, nil)
	s.Set(postman.Environment, "missing", "kept")
	res := &postman.Response{Status: 200, Body: []byte(`{"data":{"items":[{"id":42}]}}`),
		Header: postman.HTTPHeader(http.Header{"Etag": {`"abc"`}, "Location": {"/items/x-9"}})}
	o := c.Requests[0].Judge(res, s)
	if o.Captures != 5 || o.Missed != 1 || o.Checks != 1 || len(o.Failures) != 0 {
		t.Fatalf("outcome %+v, want 5 captures with 1 missed and 1 check passed", o)
	}
	for _, want := range []struct {
		target      postman.Target
		name, value string
	}{
		{postman.Environment, "id", "42"},
		{postman.CollectionVars, "etag", `"abc"`},
		{postman.Global, "last", "x-9"},
		{postman.Local, "obj", `{"items":[{"id":42}]}`},
		{postman.Environment, "missing", "kept"},
	} {
		if v, ok := s.GetIn(want.target, want.name); !ok || v != want.value {
			t.Errorf("%s.%s = %q (%v), want %q", want.target, want.name, v, ok, want.value)
		}
	}
}
