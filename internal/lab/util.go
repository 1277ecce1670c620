package lab

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/surgehq/surge/internal/server"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func dirOf(path string) string {
	d := filepath.Dir(path)
	if d == "" {
		return "."
	}
	return d
}

// loadAvg returns the 1-minute load average, 0 where it cannot be read.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// onDemand takes the provisioned concurrency off cfg's functions, the one
// of the --function-* flags and those of a list: a measurement of the
// functions' own times (calibration, the memory sweep) runs on demand.
func onDemand(cfg *server.Config) {
	f := &cfg.Functions
	f.Provisioned, f.MaxProvisioned, f.TargetUtilization, f.Schedule = 0, 0, 0, ""
	f.List = append([]server.Function(nil), f.List...)
	for i := range f.List {
		fn := &f.List[i]
		fn.Provisioned, fn.MaxProvisioned, fn.TargetUtilization, fn.Schedule = 0, 0, 0, nil
		fn.MemoryMB = 0 // the sweep's and the calibration's size
	}
}

// atMemory sets cfg's functions' memory to mb: the --function-* flags'
// (which a list's functions without a size of their own take), and a
// template's MemorySize parameter, which the article's templates give
// every function (examples/python-crud, node-crud).
func atMemory(cfg *server.Config, mb int) {
	cfg.Functions.MemoryMB = mb
	if cfg.Template.Path != "" {
		cfg.Template.Parameters = append(append([]string(nil), cfg.Template.Parameters...), "MemorySize="+strconv.Itoa(mb))
	}
}
