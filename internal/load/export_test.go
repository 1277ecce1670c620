package load

// RaceEnabled tells the external tests whether the race detector runs:
// it slows the client enough to distort timing tests.
var RaceEnabled = raceEnabled

// FinishStream ends s as a stream with its result record, the form that
// Finish writes only when it cannot replace the stream.
func FinishStream(s *Stream, res *Result) error {
	s.write(&streamRecord{Record: "result", Result: res})
	return s.Close()
}
