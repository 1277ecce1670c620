package expr_test

import (
	"fmt"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/items/expr"
)

// An UpdateItem as the /ops dispatcher would serve it: the payload's
// expression members, the item as stored, the condition, the update and
// what ReturnValues asks for.
func Example() {
	payload := []byte(`{"Key":{"id":"lamp-1"},
		"UpdateExpression":"SET price = price - :off, tags = list_append(if_not_exists(tags, :none), :t) REMOVE draft",
		"ConditionExpression":"attribute_exists(id) AND price >= :off",
		"ExpressionAttributeValues":{":off":2.50,":none":[],":t":["sale"]},
		"ReturnValues":"UPDATED_NEW"}`)
	old := items.Attributes(`{"draft":true,"id":"lamp-1","name":"lamp","price":12.5}`)

	req, err := expr.ParseRequest(payload)
	if err != nil {
		panic(err)
	}
	ex, err := expr.Compile(expr.UpdateItem, req, expr.Options{Key: []string{"id"}})
	if err != nil {
		fmt.Println(items.ErrorMessage(err)) // a ValidationException
		return
	}
	rv, _ := expr.ParseReturnValues(expr.UpdateItem, "UPDATED_NEW")
	if err := ex.Condition.Check(old); expr.IsConditionalCheckFailed(err) {
		fmt.Println("ConditionalCheckFailedException")
		return
	}
	up, err := ex.Update.Apply(old, items.Attributes(`{"id":"lamp-1"}`), rv)
	if err != nil {
		fmt.Println(items.ErrorMessage(err))
		return
	}
	fmt.Println(up.Item)
	fmt.Println(up.Attributes)
	// Output:
	// {"id":"lamp-1","name":"lamp","price":10,"tags":["sale"]}
	// {"price":10,"tags":["sale"]}
}

// A syntax error, as DynamoDB reports it.
func ExampleCompile_syntaxError() {
	_, err := expr.Compile(expr.Scan, &expr.Request{FilterExpression: ptr("price > 4")}, expr.Options{})
	fmt.Println(items.ErrorMessage(err))
	// Output:
	// Invalid FilterExpression: Syntax error; token: "4", near: "> 4"
}

func ptr(s string) *string { return &s }
