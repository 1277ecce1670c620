package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/peterbourgon/ff/v4"
	"github.com/peterbourgon/ff/v4/ffhelp"
	"github.com/peterbourgon/ff/v4/ffyaml"
)

// ApplyYAML sets, from a YAML file of settings, each flag of fs not set
// yet (by the command line or the environment), so that flags win over
// variables and variables over the file. Nested keys join with dashes
// (cache: {ttl: 300s} sets --cache-ttl). An unknown key, or one of the
// names in notSettings (flags that name files of settings themselves), is
// an error, so that a typo does not pass silently.
func ApplyYAML(fs *ff.FlagSet, r io.Reader, notSettings ...string) error {
	set := map[string]bool{}
	_ = fs.WalkFlags(func(f ff.Flag) error {
		if name, ok := f.GetLongName(); ok && f.IsSet() {
			set[name] = true
		}
		return nil
	})
	return ffyaml.Parser{Delimiter: "-"}.Parse(r, func(name, value string) error {
		f, ok := fs.GetFlag(name)
		if !ok || slices.Contains(notSettings, name) {
			return fmt.Errorf("unknown setting %q", name)
		}
		if set[name] {
			return nil
		}
		if err := f.SetValue(value); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
}

// ApplyYAMLFile is ApplyYAML of the file at path.
func ApplyYAMLFile(fs *ff.FlagSet, path string, notSettings ...string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := ApplyYAML(fs, f, notSettings...); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// EnvName is the environment variable of the flag with the long name
// name: the prefix, an underscore, and the name in upper case with dashes
// as underscores (SURGE and admin-addr give SURGE_ADMIN_ADDR), as ff's
// WithEnvVarPrefix reads them.
func EnvName(prefix, name string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// PrintHelp prints a command's help, then the environment variable of
// each of its flags.
func PrintHelp(w io.Writer, cmd *ff.Command, envPrefix string) {
	fmt.Fprintf(w, "%s\n", ffhelp.Command(cmd))
	if cmd.Flags == nil {
		return
	}
	var names []string
	_ = cmd.Flags.WalkFlags(func(f ff.Flag) error {
		if long, ok := f.GetLongName(); ok && long != "help" {
			names = append(names, long)
		}
		return nil
	})
	if len(names) == 0 {
		return
	}
	fmt.Fprintf(w, "ENVIRONMENT\n  Each flag can also be set by an environment variable; a flag given on the\n  command line wins.\n\n")
	for _, n := range names {
		fmt.Fprintf(w, "  %-30s --%s\n", EnvName(envPrefix, n), n)
	}
	fmt.Fprintln(w)
}

// FlagsLast returns args with the selected command's leading arguments
// moved behind the flags that follow them, and whether there were such
// flags, for a second parse: ff stops at the first argument, as the flag
// package does, so `surge load URL --rate 100` leaves --rate unparsed.
func FlagsLast(root *ff.Command, args []string) ([]string, bool) {
	sel := root.GetSelected()
	if sel == nil || sel.Flags == nil {
		return nil, false
	}
	left := sel.Flags.GetArgs()
	k := 0
	for k < len(left) && !strings.HasPrefix(left[k], "-") {
		k++
	}
	if k == 0 || k == len(left) || left[k] == "--" || len(left) > len(args) {
		return nil, false
	}
	moved := append([]string{}, args[:len(args)-len(left)]...)
	moved = append(moved, left[k:]...)
	return append(moved, left[:k]...), true
}

// ExitError is an error that asks for a particular exit code, such as a
// load test whose thresholds were breached; Err, if set, is printed.
type ExitError struct {
	Code int
	Err  error
}

func (e ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit code %d", e.Code)
	}
	return e.Err.Error()
}

// Exit returns the exit code of a command's error, printing what the user
// should see on w: nothing for success; the help of the selected command
// for ff.ErrHelp (0) and ff.ErrNoExec (2); an ExitError's error and code;
// any other error prefixed with the program's name, and 1.
func Exit(w io.Writer, root *ff.Command, err error, envPrefix string) int {
	var ee ExitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ff.ErrHelp):
		PrintHelp(w, root.GetSelected(), envPrefix)
		return 0
	case errors.Is(err, ff.ErrNoExec):
		PrintHelp(w, root.GetSelected(), envPrefix)
		return 2
	case errors.As(err, &ee):
		if ee.Err != nil {
			fmt.Fprintf(w, "%s: %v\n", root.Name, ee.Err)
		}
		return ee.Code
	default:
		fmt.Fprintf(w, "%s: %v\n", root.Name, err)
		return 1
	}
}
