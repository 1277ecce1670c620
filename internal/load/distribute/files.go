package distribute

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// ParseStart reads an agreed start time: an RFC 3339 time, or "+D", a
// duration from now.
func ParseStart(s string, now time.Time) (time.Time, error) {
	if d, ok := strings.CutPrefix(s, "+"); ok {
		v, err := time.ParseDuration(d)
		if err != nil || v < 0 {
			return time.Time{}, fmt.Errorf("start %q: want an RFC 3339 time or +DURATION", s)
		}
		return now.Add(v).Truncate(time.Millisecond), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("start %q: want an RFC 3339 time or +DURATION", s)
	}
	return t, nil
}

// ReadResults reads result files for a merge: each path is a file, or a
// directory whose *.json files are read in name order (where the pods of
// a Kubernetes Job wrote theirs). It returns the results and their file
// names.
func ReadResults(paths []string) ([]*load.Result, []string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			return nil, nil, err
		}
		if len(m) == 0 {
			return nil, nil, fmt.Errorf("%s: no *.json results in the directory", p)
		}
		sort.Strings(m)
		files = append(files, m...)
	}
	if len(files) == 0 {
		return nil, nil, errors.New("no result files")
	}
	rs := make([]*load.Result, 0, len(files))
	for _, f := range files {
		r, err := load.ReadResultFile(f)
		if err != nil {
			return nil, nil, err
		}
		rs = append(rs, r)
	}
	return rs, files, nil
}
