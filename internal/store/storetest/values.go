package storetest

import (
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/items"
)

// valueCases are attribute documents that must come back as they went in.
var valueCases = []struct {
	name string
	js   string
}{
	{"Scalars", `{"s":"text","t":true,"f":false,"z":null,"e":"","n":0,"neg":-1}`},
	{"Nested", `{"o":{"a":{"b":{"c":[1,[2,[3,{"d":[]}]]]}}},"arr":[{},[],"",null,true,{"x":{"y":"z"}}],"eo":{}}`},
	{"Unicode", `{"fr":"héllo","zh":"世界","emoji":"🎉👩‍👩‍👧","rtl":"שלום","名前":"値","combining":"e\u0301","bom":"\ufeff","nonchar":"\uffff"}`},
	{"Escapes", `{"q":"\"quoted\"","bs":"back\\slash","ctl":"\u0000\u0001\u001f","ws":"\b\f\n\r\t","slash":"\/ </script>","u":"\u00e9\u4e16","surrogates":"\ud83c\udf89","line":"\u2028\u2029","k\"e\\y":"v"}`},
	{"BigIntegers", `{"i38":12345678901234567890123456789012345678,"neg38":-99999999999999999999999999999999999999,"i20":12345678901234567890,"pow":1E+125,"maxint64":9223372036854775807,"over":9223372036854775808}`},
	{"SmallNumbers", `{"tiny":1E-130,"tiny38":1.2345678901234567890123456789012345678E-130,"negtiny":-1E-130,"frac38":0.12345678901234567890123456789012345678,"third":0.3333333333333333333333333333333333333}`},
	{"NumberForms", `{"a":1.10,"b":1.5e3,"c":-2E-3,"d":0.000,"e":-0,"f":100,"g":1e2,"h":0.1,"i":1.0000000000000000000000000000000000001}`},
	{"Floats", `{"pi":3.141592653589793238462643383279502884,"e":2.718281828459045,"half":0.5,"big":1.7976931348623157e125,"neg":-123.456}`},
	{"ManyMembers", `{` + manyMembers(500) + `}`},
	{"DeepNesting", strings.Repeat(`{"d":`, items.MaxDepth-1) + `[]` + strings.Repeat(`}`, items.MaxDepth-1)},
}

func manyMembers(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"m`)
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(itoa(i))
		b.WriteString(`":`)
		b.WriteString(itoa(i * 7919))
	}
	return b.String()
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}

func testValues(t *testing.T, open Opener) {
	e := setup(t, open)
	for _, c := range valueCases {
		t.Run(c.name, func(t *testing.T) {
			want := attrs(t, c.js)
			id := "v-" + c.name
			created := e.mustCreate(e.key(id), c.js)
			sameAttrs(t, "create", created.Attrs, want)
			sameAttrs(t, "get after create", e.mustGet(e.key(id)).Attrs, want)

			// Through Replace too, onto an item that held something else.
			other := "r-" + c.name
			e.mustCreate(e.key(other), `{"placeholder":[1,2,3]}`)
			replaced := e.mustReplace(e.key(other), c.js, items.Condition{})
			sameAttrs(t, "replace", replaced.Attrs, want)
			sameAttrs(t, "get after replace", e.mustGet(e.key(other)).Attrs, want)

			// And through List.
			p := e.mustList(e.tenant, items.ListQuery{After: id[:len(id)-1], Limit: 1000})
			found := false
			for _, it := range p.Items {
				if it.ID == id {
					found = true
					sameAttrs(t, "list", it.Attrs, want)
				}
			}
			if !found {
				t.Fatalf("list: %q not found", id)
			}
		})
	}
}
