package dynalitetest

// SetPdeathsig sets whether DynamoDB Local is tied to the test process by
// the parent-death signal (true, Linux only) or by the wrapper script, and
// returns a function that restores the setting.
func SetPdeathsig(on bool) (restore func()) {
	old := usePdeathsig.Swap(on && pdeathsigSupported)
	return func() { usePdeathsig.Store(old) }
}

// PdeathsigSupported reports whether this system has a parent-death signal.
const PdeathsigSupported = pdeathsigSupported
