package postman

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
)

// level is the inherited state at a folder (or the collection): its
// auth, its scripts' settings, captures and checks, and its issues, which
// are reported once the first request under it is.
type level struct {
	path     []string
	auth     *auth
	pre      []*Capture
	tests    []Action
	behavior rawBehavior
	issues   []Issue
	parent   *level
	reported bool
}

type builder struct {
	c *Collection
}

func (l *level) where() string { return strings.Join(l.path, " / ") }

// report adds the issues of l and its parents, once.
func (b *builder) report(l *level) {
	if l == nil || l.reported {
		return
	}
	b.report(l.parent)
	l.reported = true
	b.c.Issues = append(b.c.Issues, l.issues...)
}

func (b *builder) walk(items []rawItem, parent *level, picked map[*rawItem]bool, include bool) {
	for i := range items {
		it := &items[i]
		if it.Item != nil {
			l := &level{path: append(slices.Clip(parent.path), it.Name), parent: parent,
				pre: parent.pre, tests: parent.tests, behavior: parent.behavior}
			if it.Behavior.DisableBodyPruning != nil {
				l.behavior = it.Behavior
			}
			b.levelAuth(l, it.Auth, parent.auth)
			b.levelScripts(l, it.Event)
			if len(it.Variable) > 0 {
				l.issues = append(l.issues, Issue{Where: l.where(),
					Reason: "folder variables are not supported; set them in the collection or an environment"})
			}
			b.walk(*it.Item, l, picked, include || picked[it])
			continue
		}
		if !include {
			continue
		}
		b.report(parent)
		b.request(it, parent)
	}
}

// pickFolders finds the folders that Options.Folders names.
func pickFolders(items []rawItem, names []string) (map[*rawItem]bool, error) {
	picked := map[*rawItem]bool{}
	for _, want := range names {
		var found []*rawItem
		var paths []string
		var visit func([]rawItem, []string)
		visit = func(items []rawItem, path []string) {
			for i := range items {
				it := &items[i]
				if it.Item == nil {
					continue
				}
				p := append(slices.Clip(path), it.Name)
				full := strings.Join(p, "/")
				if full == want || it.Name == want && !strings.Contains(want, "/") {
					found = append(found, it)
					paths = append(paths, full)
				}
				visit(*it.Item, p)
			}
		}
		visit(items, nil)
		switch len(found) {
		case 0:
			return nil, fmt.Errorf("parse collection: no folder %q (folders: %s)", want, strings.Join(folderPaths(items), ", "))
		case 1:
			picked[found[0]] = true
		default:
			return nil, fmt.Errorf("parse collection: folder name %q is ambiguous (%s); give its path", want, strings.Join(paths, ", "))
		}
	}
	return picked, nil
}

func folderPaths(items []rawItem) []string {
	var out []string
	var visit func([]rawItem, string)
	visit = func(items []rawItem, prefix string) {
		for _, it := range items {
			if it.Item != nil {
				p := prefix + it.Name
				out = append(out, p)
				visit(*it.Item, p+"/")
			}
		}
	}
	visit(items, "")
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

func (b *builder) levelAuth(l *level, raw json.RawMessage, inherited *auth) {
	a, issue := compileAuth(raw, inherited)
	l.auth = a
	if issue != "" {
		l.issues = append(l.issues, Issue{Where: l.where(), Reason: issue})
	}
}

func (b *builder) levelScripts(l *level, events []rawEvent) {
	pre, tests, issues := scripts(events, l.where())
	l.pre = append(slices.Clip(l.pre), pre...)
	l.tests = append(slices.Clip(l.tests), tests...)
	l.issues = append(l.issues, issues...)
}

// scripts recognises an item's pre-request and test scripts.
func scripts(events []rawEvent, where string) (pre []*Capture, tests []Action, issues []Issue) {
	for _, e := range events {
		if e.Disabled {
			continue
		}
		if len(e.Script.Src) > 0 && string(e.Script.Src) != "null" {
			issues = append(issues, Issue{Where: where, Script: e.Listen, Reason: "a script loaded from a URL is not run"})
		}
		switch e.Listen {
		case "test", "prerequest":
		default:
			if len(e.Script.Exec) > 0 {
				issues = append(issues, Issue{Where: where, Script: e.Listen,
					Reason: "scripts of the " + strconv.Quote(e.Listen) + " event are not run"})
			}
			continue
		}
		r := recognise(e.Script.Exec, e.Listen, where)
		pre = append(pre, r.sets...)
		tests = append(tests, r.actions...)
		issues = append(issues, r.issues...)
	}
	return pre, tests, issues
}

// compileAuth reads an auth block: none when raw is absent or "inherit"
// (the inherited one), nil for noauth.
func compileAuth(raw json.RawMessage, inherited *auth) (*auth, string) {
	a, present, err := parseAuth(raw)
	if err != nil {
		return inherited, "the auth block does not parse (" + err.Error() + "); the parent's auth applies"
	}
	if !present {
		return inherited, ""
	}
	switch a.Type {
	case "inherit":
		return inherited, ""
	case "noauth", "":
		return nil, ""
	case "apikey":
		key := a.Params["key"]
		if key == "" {
			return nil, "API key auth without a key name: requests are sent without it"
		}
		return &auth{kind: "apikey", key: compile(key), value: compile(a.Params["value"]),
			inQuery: strings.EqualFold(a.Params["in"], "query")}, ""
	case "bearer":
		return &auth{kind: "bearer", token: compile(a.Params["token"])}, ""
	case "basic":
		return &auth{kind: "basic", user: compile(a.Params["username"]), secret: compile(a.Params["password"])}, ""
	}
	return nil, "auth type " + strconv.Quote(a.Type) + " is not supported: requests are sent without auth"
}

// prunedMethods are the methods whose body Postman does not send unless
// protocolProfileBehavior.disableBodyPruning is set.
var prunedMethods = map[string]bool{"GET": true, "HEAD": true, "COPY": true, "PURGE": true, "UNLOCK": true}

func (b *builder) request(it *rawItem, parent *level) {
	where := parent.where() + " / " + it.Name
	r := &Request{Name: it.Name, Folder: slices.Clone(parent.path[1:]), Where: where}
	issue := func(reason string) { b.c.Issues = append(b.c.Issues, Issue{Where: where, Reason: reason}) }

	var rr rawRequest
	raw := trimSpace(it.Request)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		issue("the item has no request; skipped")
		return
	case raw[0] == '"':
		var u string
		if err := json.Unmarshal(raw, &u); err != nil {
			issue("the request does not parse: " + err.Error())
			return
		}
		rr.URL = raw
	default:
		if err := json.Unmarshal(raw, &rr); err != nil {
			issue("the request does not parse: " + err.Error())
			return
		}
	}
	r.Method = strings.ToUpper(strings.TrimSpace(rr.Method))
	if r.Method == "" {
		r.Method = "GET"
	}
	u, err := compileURL(rr.URL)
	if err != nil {
		issue("the URL does not parse: " + err.Error())
		return
	}
	r.url = u

	a, authIssue := compileAuth(rr.Auth, parent.auth)
	if authIssue != "" {
		issue(authIssue)
	}
	r.auth = a
	authHeader := ""
	switch {
	case a == nil:
	case a.kind == "bearer" || a.kind == "basic":
		authHeader = "Authorization"
	case a.kind == "apikey" && !a.inQuery && a.key.static():
		authHeader = a.key.source
	}

	hs, err := headerList(rr.Header)
	if err != nil {
		issue("the headers do not parse: " + err.Error())
	}
	hasType := false
	for _, h := range hs {
		k := strings.TrimSpace(h.Key.S)
		if !h.on() || k == "" {
			continue
		}
		if authHeader != "" && strings.EqualFold(k, authHeader) {
			continue // the auth sets it, as Postman's does
		}
		if strings.EqualFold(k, "Content-Type") {
			hasType = true
		}
		r.headers = append(r.headers, header{key: compile(k), value: compile(h.Value.S)})
	}

	behavior := parent.behavior
	if it.Behavior.DisableBodyPruning != nil {
		behavior = it.Behavior
	}
	pruning := behavior.DisableBodyPruning == nil || !*behavior.DisableBodyPruning
	if rr.Body != nil && !rr.Body.Disabled && !(pruning && prunedMethods[r.Method]) {
		ctype := b.compileBody(r, rr.Body, issue)
		if ctype != "" {
			if r.body.mode == bodyFormData {
				// The boundary is surge's: an explicit multipart type
				// without it would not parse.
				r.headers = slices.DeleteFunc(r.headers, func(h header) bool {
					return strings.EqualFold(h.key.source, "Content-Type")
				})
				hasType = false
			}
			if !hasType {
				r.headers = append(r.headers, header{key: compile("Content-Type"), value: compile(ctype)})
			}
		}
	}

	pre, tests, issues := scripts(it.Event, where)
	b.c.Issues = append(b.c.Issues, issues...)
	r.Pre = append(slices.Clip(parent.pre), pre...)
	r.Actions = append(slices.Clip(parent.tests), tests...)
	b.finish(r, issue)
	b.c.Requests = append(b.c.Requests, r)
}

// compileBody compiles a request's body and returns the Content-Type its
// mode implies ("" for none).
func (b *builder) compileBody(r *Request, rb *rawBody, issue func(string)) string {
	switch rb.Mode {
	case "raw":
		if rb.Raw.S == "" {
			return ""
		}
		r.body = body{mode: bodyRaw, raw: compile(rb.Raw.S)}
		switch strings.ToLower(rb.Options.Raw.Language) {
		case "json":
			return "application/json"
		case "xml":
			return "application/xml"
		case "html":
			return "text/html"
		case "javascript":
			return "application/javascript"
		}
		return "text/plain"
	case "urlencoded":
		r.body = body{mode: bodyURLEncoded}
		for _, f := range rb.URLEncoded {
			if f.on() && f.Key.S != "" {
				r.body.fields = append(r.body.fields, field{key: compile(f.Key.S), value: compile(f.Value.S)})
			}
		}
		return "application/x-www-form-urlencoded"
	case "formdata":
		r.body = body{mode: bodyFormData}
		for _, f := range rb.FormData {
			if !f.on() || f.Key.S == "" {
				continue
			}
			if f.Type == "file" {
				issue("form-data file field " + strconv.Quote(f.Key.S) + " is not sent (files are not read)")
				continue
			}
			r.body.fields = append(r.body.fields, field{key: compile(f.Key.S), value: compile(f.Value.S), contentType: f.ContentType})
		}
		if len(r.body.fields) == 0 {
			r.body = body{}
			return ""
		}
		h := fnv.New64a()
		h.Write([]byte(r.Where))
		r.boundary = fmt.Sprintf("surgeFormBoundary%016x", h.Sum64())
		return "multipart/form-data; boundary=" + r.boundary
	case "graphql":
		if rb.GraphQL == nil {
			return ""
		}
		r.body = body{mode: bodyGraphQL, gqlQuery: compile(rb.GraphQL.Query.S), gqlVars: compile(rb.GraphQL.Variables.S)}
		return "application/json"
	case "file":
		issue("a file body is not sent (files are not read)")
	case "", "none":
	default:
		issue("body mode " + strconv.Quote(rb.Mode) + " is not supported; no body is sent")
	}
	return ""
}

// finish lists the variables a request reads and sets, and reports the
// dynamic variables it does not know.
func (b *builder) finish(r *Request, issue func(string)) {
	uses := map[string]bool{}
	unknown := map[string]bool{}
	add := func(name string) {
		if strings.HasPrefix(name, "$") {
			if dynamics[name] == nil {
				unknown[name] = true
			}
			return
		}
		uses[name] = true
	}
	r.url.names(add)
	for _, h := range r.headers {
		h.key.names(add)
		h.value.names(add)
	}
	r.body.raw.names(add)
	r.body.gqlQuery.names(add)
	r.body.gqlVars.names(add)
	for _, f := range r.body.fields {
		f.key.names(add)
		f.value.names(add)
	}
	if a := r.auth; a != nil {
		for _, t := range []*template{&a.key, &a.value, &a.token, &a.user, &a.secret} {
			t.names(add)
		}
	}
	for _, c := range r.Pre {
		if c.render {
			c.value.names(add)
		}
	}
	// What the pre-request scripts set is not needed beforehand.
	for _, c := range r.Pre {
		if !c.Unset {
			delete(uses, c.Var)
		}
	}
	r.uses = sortedKeys(uses)
	sets := map[string]bool{}
	for _, c := range r.Pre {
		if !c.Unset {
			sets[c.Var] = true
		}
	}
	for _, a := range r.Actions {
		if a.Capture != nil && !a.Capture.Unset {
			sets[a.Capture.Var] = true
		}
	}
	r.sets = sortedKeys(sets)
	reads := map[string]bool{}
	for _, c := range r.Pre {
		c.reads(reads)
	}
	for _, a := range r.Actions {
		if a.Capture != nil {
			a.Capture.reads(reads)
		} else {
			a.Check.reads(reads)
		}
	}
	for name := range reads {
		if strings.HasPrefix(name, "$") {
			delete(reads, name)
		}
	}
	r.reads = sortedKeys(reads)
	for _, name := range sortedKeys(unknown) {
		issue("{{" + name + "}} is not a dynamic variable surge knows; it is sent as written")
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, cmp.Compare)
	return out
}

// compileURL compiles a request's URL: a string, or an object whose parts
// (protocol, host, port, path, query) are used when it has them, as
// Postman's runtime does, else its raw form. Path variables (:name
// segments) take the values of the URL's variables; the fragment is
// dropped.
func compileURL(raw json.RawMessage) (template, error) {
	raw = trimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return template{}, errors.New("the request has no URL")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return template{}, err
		}
		return compile(cutFragment(s)), nil
	}
	var u rawURL
	if err := json.Unmarshal(raw, &u); err != nil {
		return template{}, err
	}
	vars := map[string]string{}
	for _, v := range u.Variable {
		if v.enabled() && v.name() != "" {
			vars[v.name()] = v.Value.S
		}
	}
	host := stringList(u.Host, ".")
	path := stringList(u.Path, "/")
	if len(host) == 0 && len(path) == 0 {
		s := cutFragment(u.Raw)
		if s == "" {
			return template{}, errors.New("the URL is empty")
		}
		return compile(substitutePathVars(s, vars)), nil
	}
	var b strings.Builder
	if u.Protocol != "" {
		b.WriteString(strings.TrimSuffix(u.Protocol, "://"))
		b.WriteString("://")
	}
	b.WriteString(strings.Join(host, "."))
	if u.Port != "" {
		b.WriteString(":")
		b.WriteString(u.Port)
	}
	for _, seg := range path {
		b.WriteString("/")
		b.WriteString(pathVar(seg, vars))
	}
	sep := "?"
	for _, q := range u.Query {
		if !q.on() || q.Key.S == "" && q.Value.S == "" {
			continue
		}
		b.WriteString(sep)
		sep = "&"
		b.WriteString(q.Key.S)
		if !q.Value.Null {
			b.WriteString("=")
			b.WriteString(q.Value.S)
		}
	}
	return compile(b.String()), nil
}

func cutFragment(s string) string {
	// A '#' inside a {{variable}} is part of its name, not a fragment.
	for i := 0; i < len(s); i++ {
		if s[i] == '#' {
			if strings.LastIndex(s[:i], "{{") > strings.LastIndex(s[:i], "}}") {
				continue
			}
			return s[:i]
		}
	}
	return s
}

// pathVar replaces a :name segment with the variable's value.
func pathVar(seg string, vars map[string]string) string {
	if len(seg) > 1 && seg[0] == ':' {
		if v, ok := vars[seg[1:]]; ok {
			return v
		}
	}
	return seg
}

// substitutePathVars replaces the :name segments of a raw URL's path.
func substitutePathVars(s string, vars map[string]string) string {
	if len(vars) == 0 {
		return s
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	slash := strings.IndexByte(s[start:], '/')
	if slash < 0 {
		return s
	}
	start += slash
	end := len(s)
	if q := strings.IndexByte(s[start:], '?'); q >= 0 {
		end = start + q
	}
	segs := strings.Split(s[start:end], "/")
	for i, seg := range segs {
		segs[i] = pathVar(seg, vars)
	}
	return s[:start] + strings.Join(segs, "/") + s[end:]
}
