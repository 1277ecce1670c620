package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

// TestServeRunsItBesideSurge installs surge and surge-function side by
// side, as go install does, and runs `surge serve --functions`: its
// instances are this program, and they serve the API.
func TestServeRunsItBesideSurge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds surge")
	}
	dir := t.TempDir()
	for _, pkg := range []string{"../surge", "."} {
		name := "surge"
		if pkg == "." {
			name = "surge-function"
		}
		// Stamped with the commit, which is how surge tells that
		// surge-function is of its build.
		if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", filepath.Join(dir, name), pkg).CombinedOutput(); err != nil {
			if strings.Contains(string(out), "VCS") {
				t.Skipf("no version control information to stamp builds with:\n%s", out)
			}
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	lean := filepath.Join(dir, "surge-function")
	logs := &syncbuf.Buffer{}
	cmd := exec.Command(filepath.Join(dir, "surge"), "--log-format", "json", "serve", "--addr", "127.0.0.1:0",
		"--admin-addr", "", "--data", t.TempDir(), "--functions", "--function-logs=false")
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var addr, command string
	for deadline := time.Now().Add(60 * time.Second); addr == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("surge serve did not listen within 60s:\n%s", logs)
		}
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			switch rec["msg"] {
			case "function":
				command, _ = rec["command"].(string)
			case "listening":
				addr, _ = rec["addr"].(string)
			}
		}
	}
	if command != lean {
		t.Errorf("instances run %q, want %q", command, lean)
	}
	base := "http://" + addr
	res, err := http.Post(base+"/items", "application/json", bytes.NewReader([]byte(`{"name":"lean","price":1}`)))
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || json.Unmarshal(body, &created) != nil || created.ID == "" {
		t.Fatalf("POST /items: %d %s", res.StatusCode, body)
	}
	res, err = http.Get(base + "/items/" + created.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"name":"lean"`) {
		t.Fatalf("GET /items/%s: %d %s", created.ID, res.StatusCode, body)
	}
}
