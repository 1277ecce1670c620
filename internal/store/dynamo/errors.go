package dynamo

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/smithy-go"

	"github.com/surgehq/surge/internal/items"
)

// throttleCodes are DynamoDB's answers to more traffic than the table or
// account allows. The SDK's retryer retries them with backoff (they are
// among its default throttle codes); what still fails becomes EUNAVAILABLE.
var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"Throttling":                             true,
}

// mapError turns an SDK error into the contract's: throttling (and the
// SDK's own retry quota running out during it) into EUNAVAILABLE with a
// Retry-After, DynamoDB's refusal of an oversized item into ETOOLARGE, and
// everything else into an internal error that says what failed (logged,
// never shown to clients).
func mapError(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch code := ae.ErrorCode(); {
		case throttleCodes[code]:
			return &items.Error{Code: items.EUNAVAILABLE, Message: "DynamoDB is throttling; retry later.", RetryAfter: retryAfter,
				Limit: throttleLimit(op, code)}
		case code == "ServiceUnavailable":
			return &items.Error{Code: items.EUNAVAILABLE, Message: "DynamoDB is unavailable; retry later.", RetryAfter: retryAfter}
		case code == "ValidationException" && isSizeMessage(ae.ErrorMessage()):
			return tooLarge()
		}
	}
	var qe ratelimit.QuotaExceededError
	if errors.As(err, &qe) {
		return &items.Error{Code: items.EUNAVAILABLE, Message: "DynamoDB is throttling; retry later.", RetryAfter: retryAfter,
			Limit: throttleLimit(op, "ProvisionedThroughputExceededException")}
	}
	return fmt.Errorf("dynamo: %s: %w", op, err)
}

// Limit sources (items.Error's Limit) of a table's capacity, as package
// rest names them.
const (
	limitTableRead  = "table.read"
	limitTableWrite = "table.write"
)

// throttleLimit names the capacity a throttled call exceeded: the table's
// read or write capacity for ProvisionedThroughputExceededException (and
// the on-demand table's throughput, which DynamoDB answers the same way);
// none for the account's request rate (RequestLimitExceeded, Throttling).
func throttleLimit(op, code string) string {
	if code != "ProvisionedThroughputExceededException" && code != "ThrottlingException" {
		return ""
	}
	if strings.HasPrefix(op, "get") || strings.HasPrefix(op, "query") || strings.HasPrefix(op, "scan") {
		return limitTableRead
	}
	return limitTableWrite
}

// isSizeMessage reports whether a ValidationException's message is
// DynamoDB's item size refusal ("Item size has exceeded the maximum allowed
// size", "Item size to update has exceeded ...").
func isSizeMessage(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "item size") && strings.Contains(msg, "exceeded")
}

// compress deflates canonical attributes for an idempotency record.
func compress(a items.Attributes) ([]byte, error) {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("dynamo: compress attributes: %w", err)
	}
	if _, err := w.Write([]byte(a.String())); err != nil {
		return nil, fmt.Errorf("dynamo: compress attributes: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("dynamo: compress attributes: %w", err)
	}
	return b.Bytes(), nil
}

// decompress inflates what compress made, at most MaxItemSize*4 bytes (a
// record's attributes fit in an item).
func decompress(z []byte) (items.Attributes, error) {
	r := flate.NewReader(bytes.NewReader(z))
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 4*items.MaxItemSize+1))
	if err != nil {
		return nil, fmt.Errorf("dynamo: decompress attributes: %w", err)
	}
	if len(b) > 4*items.MaxItemSize {
		return nil, errors.New("dynamo: decompress attributes: too large")
	}
	return items.Canonicalize(b)
}
