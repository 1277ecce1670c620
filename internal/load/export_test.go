package load

// RaceEnabled tells the external tests whether the race detector runs:
// it slows the client enough to distort timing tests.
var RaceEnabled = raceEnabled
