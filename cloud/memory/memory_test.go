package memory_test

import (
	"testing"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/memory"
	"github.com/shift-migrate/shift/cloud/targettest"
)

func TestConformance(t *testing.T) {
	targettest.Run(t, func(t *testing.T) cloud.Target { return memory.New() })
}
