package lease_test

import (
	"strings"
	"testing"

	"github.com/dialpad-etl/dialpad-etl/etl/lease"
)

// A brief owner has the form of any owner, so that one that died is
// recognised as dead on its host, and is told apart from a load's.
func TestBriefOwner(t *testing.T) {
	brief, long := lease.NewOwner(lease.Brief), lease.NewOwner(lease.Long)
	if strings.Count(string(brief), "/") != strings.Count(string(long), "/") {
		t.Errorf("brief owner %q is not of the form of %q", brief, long)
	}
	if brief.Hold() != lease.Brief || long.Hold() != lease.Long {
		t.Errorf("Hold of %q = %v, of %q = %v; want Brief, Long", brief, brief.Hold(), long, long.Hold())
	}
	if brief == lease.NewOwner(lease.Brief) {
		t.Errorf("two owners of one process are both %q", brief)
	}
}
