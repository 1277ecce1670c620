// Package postman reads Postman collections (Collection Format v2.0 and
// v2.1) into request templates that a load test can send: folders (one or
// more picked by name or path), requests with {{variables}}, path
// variables, queries, headers and bodies (raw, url-encoded, form-data,
// GraphQL), collection, environment and global variables with Postman's
// precedence, Postman's dynamic variables ({{$guid}}, {{$timestamp}},
// {{$randomInt}} and many more), and auth at collection, folder and
// request level (no auth, inherit, API key, bearer, basic).
//
// Scripts are not run: the statements that nearly every collection uses
// are recognised instead. pm.environment.set("id", pm.response.json().id)
// and its other scopes and forms become captures that set a variable from
// a response; pm.response.to.have.status(201), pm.expect(...).to.eql(...)
// and tests["..."] = ... become checks that judge it. Every statement that
// is not understood is reported once as an Issue, never silently dropped.
//
// Rendering is meant for a load generator's hot path: a Renderer reuses
// its buffers, so a request renders without allocating when its variables
// are plain, and checks and captures read the response bytes in place.
// The package also writes collections (see Export).
package postman

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Collection is a parsed collection: its requests in run order, with what
// could not be understood.
type Collection struct {
	Name string
	// Version is the collection format, "2.0.0" or "2.1.0".
	Version string
	// Variables are the collection's own variables (the widest but one
	// scope).
	Variables []Variable
	// Requests are the requests to run, in the collection's order.
	Requests []*Request
	// Issues lists, in the collection's order, every script statement,
	// auth type or body mode not understood, each once.
	Issues []Issue
}

// Options select what Parse reads.
type Options struct {
	// Folders picks folders by name or by path ("Articles/Comments"); the
	// requests run are those under them, in the collection's order. Empty
	// runs the whole collection.
	Folders []string
}

// Request is one request of a collection, compiled: it renders with a
// Renderer, and its Actions judge a response.
type Request struct {
	// Name is the request's name, Folder the names of the folders above it.
	Name   string
	Folder []string
	// Where is its path in the collection, "Collection / Folder / Name".
	Where  string
	Method string
	// Pre are the variable settings of the pre-request scripts
	// (collection, folders, request), applied before rendering.
	Pre []*Capture
	// Actions are the captures and checks of the test scripts
	// (collection, folders, request) in the order they run.
	Actions []Action

	url      template
	headers  []header
	body     body
	auth     *auth
	uses     []string
	sets     []string
	reads    []string
	boundary string
}

type header struct {
	key, value template
}

type bodyMode uint8

const (
	bodyNone bodyMode = iota
	bodyRaw
	bodyURLEncoded
	bodyFormData
	bodyGraphQL
)

type field struct {
	key, value  template
	contentType string
}

type body struct {
	mode     bodyMode
	raw      template
	fields   []field
	gqlQuery template
	gqlVars  template
}

type auth struct {
	kind         string // apikey, bearer, basic
	key, value   template
	inQuery      bool
	token        template
	user, secret template
}

// Uses returns the variables the request's URL, headers, body and auth
// read (not the dynamic ones), sorted: a run may hold a request back until
// they are set.
func (r *Request) Uses() []string { return r.uses }

// Sets returns the variables the request's pre-request settings and
// captures set, sorted.
func (r *Request) Sets() []string { return r.sets }

// ScriptReads returns the variables the request's scripts read, sorted:
// those its checks and captures compare or copy, and those their
// conditions test. (Uses lists the ones its URL, headers, body and auth
// read.)
func (r *Request) ScriptReads() []string { return r.reads }

// URL returns the request's URL as the collection writes it, with its
// {{variables}} and path variables substituted by name.
func (r *Request) URL() string { return r.url.source }

// Checks returns the request's checks in order.
func (r *Request) Checks() []*Check {
	var out []*Check
	for _, a := range r.Actions {
		if a.Check != nil {
			out = append(out, a.Check)
		}
	}
	return out
}

// Captures returns the request's captures from the response, in order.
func (r *Request) Captures() []*Capture {
	var out []*Capture
	for _, a := range r.Actions {
		if a.Capture != nil {
			out = append(out, a.Capture)
		}
	}
	return out
}

// Outcome is what a response did: the checks that applied and those of
// them that failed, and the captures that applied and found no value.
type Outcome struct {
	Checks   int
	Failures []*Check // nil when every check passed: no allocation then
	Captures int
	Missed   int
}

// Judge runs the request's captures and checks on a response, in script
// order: captures set variables in s, and a check that follows a capture
// reads what it set.
func (r *Request) Judge(res *Response, s *Scope) Outcome {
	var o Outcome
	for _, a := range r.Actions {
		if c := a.Capture; c != nil {
			if !c.Applies(res, s) {
				continue
			}
			o.Captures++
			if !c.Apply(res, s) {
				o.Missed++
			}
			continue
		}
		c := a.Check
		if !c.Applies(res, s) {
			continue
		}
		o.Checks++
		if !c.Pass(res, s) {
			o.Failures = append(o.Failures, c)
		}
	}
	return o
}

// Parse reads a collection in the Collection Format v2.0 or v2.1.
func Parse(data []byte, opts Options) (*Collection, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("parse collection: larger than %d MiB", MaxFileSize>>20)
	}
	var raw rawCollection
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse collection: %w", err)
	}
	version := schemaVersion(raw.Info.Schema)
	switch {
	case version == "1.0.0" || raw.Item == nil && len(raw.Requests) > 0:
		return nil, errors.New("parse collection: format v1 is not supported; export the collection as v2.1 from Postman")
	case version == "":
		version = "2.1.0"
	case version != "2.0.0" && version != "2.1.0":
		return nil, fmt.Errorf("parse collection: schema %s is not v2.0.0 or v2.1.0", version)
	}
	name := raw.Info.Name
	if name == "" {
		name = "collection"
	}
	c := &Collection{Name: name, Version: version}
	for _, v := range raw.Variable {
		if v.enabled() && v.name() != "" {
			c.Variables = append(c.Variables, Variable{Key: v.name(), Value: v.Value.S})
		}
	}
	b := &builder{c: c}
	root := &level{path: []string{name}}
	root.behavior = raw.Behavior
	b.levelAuth(root, raw.Auth, nil)
	b.levelScripts(root, raw.Event)
	picked, err := pickFolders(raw.Item, opts.Folders)
	if err != nil {
		return nil, err
	}
	b.walk(raw.Item, root, picked, len(opts.Folders) == 0)
	return c, nil
}
