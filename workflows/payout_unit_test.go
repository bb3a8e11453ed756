package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/workflows"
)

// TestPayoutWorkflowCounts runs PayoutWorkflow with its activities
// replaced: ten payouts, one Stripe never answers (left pending after
// the retries, not notified), one refused (failed, notified), the rest
// paid; a notification that fails does not fail the batch; the batch id
// defaults to the workflow id.
func TestPayoutWorkflowCounts(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	var a *activities.Payout
	env.RegisterActivity(&activities.Payout{})
	var batch string
	env.OnActivity(a.PreparePayouts, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PayoutBatch) (activities.PreparedPayouts, error) {
		batch = in.BatchID
		var ids []string
		for i := range 10 {
			ids = append(ids, fmt.Sprint("p", i))
		}
		return activities.PreparedPayouts{IDs: ids}, nil
	})
	transfers := map[string]int{}
	env.OnActivity(a.TransferPayout, mock.Anything, mock.Anything).Return(func(_ context.Context, id string) (activities.PaidPayout, error) {
		transfers[id]++
		switch id {
		case "p3":
			return activities.PaidPayout{}, errors.New("stripe: 503")
		case "p5":
			return activities.PaidPayout{ID: id, Status: "failed", Currency: "usd", Cents: 100}, nil
		}
		return activities.PaidPayout{ID: id, Status: "paid", Currency: "usd", Cents: 100}, nil
	})
	notified := map[string]bool{}
	env.OnActivity(a.NotifyPayout, mock.Anything, mock.Anything).Return(func(_ context.Context, id string) error {
		notified[id] = true
		if id == "p7" {
			return errors.New("line: 500")
		}
		return nil
	})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "payout-unit"})
	env.ExecuteWorkflow(workflows.PayoutWorkflow, workflows.PayoutInput{})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.PayoutResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Paid != 8 || res.Failed != 1 || res.Pending != 1 || res.Cents["usd"] != 800 || res.BatchID != "payout-unit" || batch != "payout-unit" {
		t.Fatalf("result %+v (batch %q)", res, batch)
	}
	if transfers["p3"] != 10 || transfers["p0"] != 1 {
		t.Fatalf("transfer attempts %v: the unanswered one is retried 10 times, the paid ones once", transfers)
	}
	if notified["p3"] || !notified["p5"] || len(notified) != 9 {
		t.Fatalf("notified %v", notified)
	}
}
