package load

import (
	"strings"
	"testing"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// A brief owner has the form of any owner, so that one that died is
// recognised as dead on its host, and is told apart from a load's.
func TestBriefOwner(t *testing.T) {
	brief, load := BriefOwner(), warehouse.NewOwner()
	if strings.Count(brief, "/") != strings.Count(load, "/") {
		t.Errorf("brief owner %q is not of the form of %q", brief, load)
	}
	if !isBrief(brief) || isBrief(load) {
		t.Errorf("isBrief(%q) = %v, isBrief(%q) = %v; want true, false", brief, isBrief(brief), load, isBrief(load))
	}
}
