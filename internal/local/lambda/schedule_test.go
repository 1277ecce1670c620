package lambda_test

import (
	"reflect"
	"testing"

	"github.com/surgehq/surge/internal/local/lambda"
)

func TestParseScheduledActions(t *testing.T) {
	got, err := lambda.ParseScheduledActions("cron(0 8 ? * MON-FRI *)=10:50; cron(0 19 ? * MON-FRI *)=5 ;", "Europe/Amsterdam")
	want := []lambda.ScheduledAction{
		{Schedule: "cron(0 8 ? * MON-FRI *)", Timezone: "Europe/Amsterdam", Min: 10, Max: 50},
		{Schedule: "cron(0 19 ? * MON-FRI *)", Timezone: "Europe/Amsterdam", Min: 5},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v %v, want %+v", got, err, want)
	}
	for _, bad := range []string{"cron(0 8 ? * MON *)", "x=-1", "x=1:0", "x=a"} {
		if _, err := lambda.ParseScheduledActions(bad, ""); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}
