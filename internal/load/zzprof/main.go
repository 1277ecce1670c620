package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/surgehq/surge/internal/load"
)

func main() {
	s := load.DefaultScenario()
	s.Target = os.Args[1]
	s.Model = os.Args[2]
	s.VUs = 50
	s.Rate, _ = strconv.ParseFloat(os.Args[3], 64)
	s.Duration = 8 * time.Second
	s.Mix = map[string]float64{"list": 1}
	s.API.Items = "/"
	s.API.ListQuery = ""
	s.IDs.Preseed = 0
	f, _ := os.Create("/tmp/surge.prof")
	pprof.StartCPUProfile(f)
	res, err := load.Run(context.Background(), s)
	pprof.StopCPUProfile()
	if err != nil {
		panic(err)
	}
	fmt.Printf("achieved %.0f/s sent %d late %d dropped %d p99 %.2f lag p50 %.2f\n", res.AchievedRate, res.Sent, res.Late, res.Dropped, res.Total.Latency.P99, res.Lag.P50)
}
