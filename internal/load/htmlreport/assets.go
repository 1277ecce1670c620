package htmlreport

import (
	_ "embed"
	"html/template"
	"strings"
	"sync"
)

// The charting library, vendored by scripts/vendor-chartlib at the
// version its PIN file names, with its licence.
var (
	//go:embed third_party/uplot/uPlot.iife.min.js
	libJS string
	//go:embed third_party/uplot/uPlot.min.css
	libCSS string
	//go:embed third_party/uplot/LICENSE
	libLicense string
	//go:embed third_party/uplot/PIN
	libPin string
)

// The page: its template, its script (a generic drawer of the charts
// the data describes) and its style.
var (
	//go:embed assets/page.html
	pageHTML string
	//go:embed assets/report.js
	reportJS string
	//go:embed assets/report.css
	reportCSS string
)

// libName is the library and version the page embeds, from its PIN.
var libName = "uPlot " + pinField("version")

func pinField(name string) string {
	for _, line := range strings.Split(libPin, "\n") {
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// pageTemplate is parsed once, when a report is first written (not at the
// start of every surge process); the template is part of the binary, and
// a test renders it.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(pageHTML))
})
