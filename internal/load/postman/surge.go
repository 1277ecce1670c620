package postman

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/surgehq/surge/internal/load/openapi"
)

// SurgeBaseURL is where surge serve listens by default, the base URL of
// surge's collection and environment.
const SurgeBaseURL = "http://127.0.0.1:8080"

// surgeExamples are the requests of surge's collection where its OpenAPI
// document has no example body, or where one operation is worth several
// requests (the dispatcher's operations). Everything else (the routes,
// the statuses, the captures of the id and the ETag, If-Match and the
// conditional read) comes from the document.
var surgeExamples = map[string][]Example{
	"createItem": {{
		Name: "Create an item",
		Body: `{"name":"lamp","price":12.5,"stock":12345678901234567890}`,
		Tests: []string{
			`pm.test("the item is as sent", function () {`,
			`    pm.expect(pm.response.json().name).to.eql("lamp");`,
			`    pm.expect(pm.response.json().version).to.eql(1);`,
			`    pm.response.to.have.header("Location");`,
			`});`,
		},
	}},
	"listItems": {{
		Name: "List items",
		Tests: []string{
			`pm.test("a page of items", function () {`,
			`    pm.expect(pm.response.json().items).to.be.an("array");`,
			`});`,
		},
	}},
	"getItem": {{
		Name: "Read an item",
		Tests: []string{
			`pm.test("the item created", function () {`,
			`    pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get("id"));`,
			`    pm.expect(pm.response.json().price).to.eql(12.5);`,
			`});`,
		},
	}},
	"replaceItem": {{
		Name: "Replace an item",
		Body: `{"name":"lamp","price":14}`,
		Tests: []string{
			`pm.test("replaced", function () {`,
			`    pm.expect(pm.response.json().price).to.eql(14);`,
			`    pm.expect(pm.response.json().version).to.eql(2);`,
			`});`,
		},
	}},
	"patchItem": {{
		Name: "Patch an item",
		Body: `{"price":null,"color":"red"}`,
		Tests: []string{
			`pm.test("patched", function () {`,
			`    pm.expect(pm.response.json().color).to.eql("red");`,
			`    pm.expect(pm.response.json()).to.not.have.property("price");`,
			`});`,
		},
	}},
	"batchItems": {{
		Name: "Run a batch",
		Body: `{"operations":[{"op":"get","id":"{{id}}"},{"op":"create","item":{"name":"shade"}}]}`,
		Tests: []string{
			`pm.test("each operation's status", function () {`,
			`    pm.expect(pm.response.json().results[0].status).to.eql(200);`,
			`    pm.expect(pm.response.json().results[1].status).to.eql(201);`,
			`});`,
		},
	}},
	"deleteItem": {{Name: "Delete an item"}},
	"dispatch": {
		{
			Name: "Dispatch: create",
			Pre:  []string{`pm.collectionVariables.set("opsId", pm.variables.replaceIn("ops-{{$guid}}"));`},
			Body: `{"operation":"create","tableName":"items","payload":{"Item":{"id":"{{opsId}}","name":"lamp","price":12.5}}}`,
		},
		{
			Name: "Dispatch: read",
			Body: `{"operation":"read","tableName":"items","payload":{"Key":{"id":"{{opsId}}"}}}`,
			Tests: []string{
				`pm.test("the item created", function () {`,
				`    pm.expect(pm.response.json().Item.name).to.eql("lamp");`,
				`});`,
			},
		},
		{
			Name: "Dispatch: update",
			Body: `{"operation":"update","tableName":"items","payload":{"Key":{"id":"{{opsId}}"},"AttributeUpdates":{"price":{"Value":14,"Action":"PUT"}}}}`,
			Tests: []string{
				`pm.test("the new item", function () {`,
				`    pm.expect(pm.response.json().Attributes.price).to.eql(14);`,
				`});`,
			},
		},
		{
			Name: "Dispatch: list",
			Body: `{"operation":"list","tableName":"items","payload":{"Limit":10}}`,
			Tests: []string{
				`pm.test("a page of items", function () {`,
				`    pm.expect(pm.response.json().Items).to.be.an("array");`,
				`});`,
			},
		},
		{
			Name: "Dispatch: echo",
			Body: `{"operation":"echo","payload":{"hello":"surge"}}`,
			Tests: []string{
				`pm.test("the payload back", function () {`,
				`    pm.expect(pm.response.json().hello).to.eql("surge");`,
				`});`,
			},
		},
		{
			Name: "Dispatch: delete",
			Body: `{"operation":"delete","tableName":"items","payload":{"Key":{"id":"{{opsId}}"}}}`,
		},
	},
	"dispatchDynamoDBManager": {{
		Name: "Dispatch: ping (DynamoDBManager)",
		Body: `{"operation":"ping"}`,
		Tests: []string{
			`pm.test("pong", function () {`,
			`    pm.expect(pm.response.json()).to.eql("pong");`,
			`});`,
		},
	}},
	"healthz": {{
		Name: "Liveness",
		Tests: []string{
			`pm.test("ok", function () {`,
			`    pm.expect(pm.response.json().status).to.eql("ok");`,
			`});`,
		},
	}},
	"readyz": {{
		Name: "Readiness",
		Tests: []string{
			`pm.test("ok", function () {`,
			`    pm.expect(pm.response.json().status).to.eql("ok");`,
			`});`,
		},
	}},
	"openapi": {{
		Name: "The OpenAPI document",
		Tests: []string{
			`pm.test("OpenAPI 3.1", function () {`,
			`    pm.expect(pm.response.json().openapi).to.eql("3.1.0");`,
			`});`,
		},
	}},
}

// SurgeCollection writes surge's own collection and its environment from
// surge's OpenAPI document (itemsapi.OpenAPI): every route of the API, in
// an order a run can follow against an empty service, with captures of
// the created ids and ETags and checks of the statuses and bodies.
func SurgeCollection(spec []byte) (collection, environment []byte, err error) {
	doc, err := openapi.Read(spec)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range doc.Operations {
		if o.ID == "" {
			return nil, nil, fmt.Errorf("surge collection: %s %s has no operationId", o.Method, o.Path)
		}
	}
	collection, err = Export(doc, ExportOptions{
		Name: "surge",
		Description: "The surge items API (docs/API.md): CRUD over items, batches, the original Lambda's " +
			"operation dispatcher, health and readiness. Generated from surge's OpenAPI document by " +
			"`surge load postman-export`; do not edit by hand. Set baseUrl to the service " +
			"(surge serve listens on " + SurgeBaseURL + ").",
		BaseURL:   SurgeBaseURL,
		Examples:  surgeExamples,
		Variables: []Variable{{Key: "opsId"}},
	})
	if err != nil {
		return nil, nil, err
	}
	environment, err = ExportEnvironment("surge (local)", []Variable{{Key: "baseUrl", Value: SurgeBaseURL}})
	return collection, environment, err
}

// The files of surge's collection, as examples/postman holds them.
const (
	SurgeCollectionFile  = "surge.postman_collection.json"
	SurgeEnvironmentFile = "surge.postman_environment.json"
)

// WriteSurgeFiles writes surge's collection and environment, generated from
// surge's OpenAPI document (SurgeCollection), into dir, creating it if
// needed; it returns the paths written.
func WriteSurgeFiles(dir string, spec []byte) ([]string, error) {
	col, env, err := SurgeCollection(spec)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("surge collection: %w", err)
	}
	var paths []string
	for _, f := range []struct {
		name string
		data []byte
	}{{SurgeCollectionFile, col}, {SurgeEnvironmentFile, env}} {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return paths, fmt.Errorf("surge collection: %w", err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}
