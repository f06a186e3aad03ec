package main

import (
	"os"
	"runtime/debug"
)

// gcPercent is the garbage collector's target when GOGC is not set: a load
// allocates fast (every leg is decoded, shaped and encoded for ClickHouse)
// while holding little, so a tighter target than Go's 100 keeps the
// process's memory near what it holds, for a little more CPU.
const gcPercent = 50

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
