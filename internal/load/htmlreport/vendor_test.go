package htmlreport_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestVendoredLibrary checks that the vendored charting library is the
// version its PIN names, that its licence is beside it, and that a report
// carries both the library and its licence text.
func TestVendoredLibrary(t *testing.T) {
	pin, err := os.ReadFile("third_party/uplot/PIN")
	if err != nil {
		t.Fatal(err)
	}
	version := regexp.MustCompile(`(?m)^version=(\S+)$`).FindSubmatch(pin)
	integrity := regexp.MustCompile(`(?m)^integrity=sha512-\S{86}==$`).Find(pin)
	if version == nil || integrity == nil {
		t.Fatalf("PIN lacks a version or a sha512 integrity:\n%s", pin)
	}
	js, err := os.ReadFile("third_party/uplot/uPlot.iife.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if want := "/*! https://github.com/leeoniya/uPlot (v" + string(version[1]) + ") */"; !strings.HasPrefix(string(js), want) {
		t.Errorf("uPlot.iife.min.js starts %.60q, want %q", js, want)
	}
	license, err := os.ReadFile("third_party/uplot/LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(license), "The MIT License (MIT)") || !strings.Contains(string(license), "Leon Sorokin") {
		t.Errorf("LICENSE is not uPlot's MIT licence:\n%s", license)
	}
	r, x := synthetic(t, 3, 20, 1, 1)
	page := string(runPage(t, r, x))
	body := strings.SplitN(string(js), "\n", 2)
	if !strings.Contains(page, "Leon Sorokin") || !strings.Contains(page, body[len(body)-1][:200]) {
		t.Error("the page does not carry the library and its licence")
	}
}
