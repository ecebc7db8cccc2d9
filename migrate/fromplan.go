package migrate

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shift-migrate/shift/migrate/plan"
	"github.com/shift-migrate/shift/remote"
)

// PlanOptions adjust a plan for one run.
type PlanOptions struct {
	// Approve approves every cutover, whatever the plan's approval says.
	Approve bool
	// Test test-migrates every server before its cutover, whatever the
	// plan's testMigration says.
	Test bool
	// Only limits the run to these hosts; nil means every host.
	Only []string
}

// FromPlan turns a plan into the batch that runs it: its waves in order,
// each host with its merged settings. The caller sets the batch's Runner.
func FromPlan(p *plan.Plan, hf *remote.HostsFile, o PlanOptions) (*Batch, error) {
	if err := p.CheckHosts(hf.Names()); err != nil {
		return nil, err
	}
	for _, name := range o.Only {
		if h, _ := p.Host(name); h == nil {
			return nil, fmt.Errorf("--host %s: not in the plan; its hosts: %s", name, strings.Join(p.HostNames(), ", "))
		}
	}
	b := &Batch{Blackout: func(now time.Time) (bool, string) {
		in, until, reason := p.InBlackout(now)
		if !in {
			return false, ""
		}
		if reason == "" {
			reason = "a blackout in the plan"
		}
		return true, fmt.Sprintf("%s, until %s", reason, until.Format(time.RFC3339))
	}}
	for _, wname := range p.Order() {
		w := p.Wave(wname)
		bw := Wave{Name: w.Name, DependsOn: w.DependsOn}
		for _, h := range w.Hosts {
			if o.Only != nil && !slices.Contains(o.Only, h.Name) {
				continue
			}
			e, _ := p.Effective(h.Name)
			s, err := serverOf(p, e, o)
			if err != nil {
				return nil, fmt.Errorf("%s: host %s: %w", p.Path, h.Name, err)
			}
			bw.Concurrency = e.Concurrency
			bw.Servers = append(bw.Servers, s)
		}
		if len(bw.Servers) > 0 {
			b.Waves = append(b.Waves, bw)
		}
	}
	if len(b.Waves) == 0 {
		return nil, errors.New("the plan has no host to move")
	}
	return b, nil
}

func serverOf(p *plan.Plan, e plan.Effective, o PlanOptions) (Server, error) {
	checks, err := e.Checks.ValidateOptions(p.Dir())
	if err != nil {
		return Server{}, err
	}
	s := Server{
		Name: e.Host, Wave: e.Wave, Hold: e.Hold,
		CPUs: e.Size.CPUs, MemoryMiB: int(int64(e.Size.Memory) >> 20), Size: e.Size.VMSize,
		Disks: e.Disks.Include, StopServices: e.StopServices, Checks: checks,
		ApproveCutover: o.Approve || e.Approval == plan.Automatic,
		Bandwidth:      int64(e.Bandwidth),
		MaxPasses:      e.Delta.MaxPasses + 1,
		InSyncBytes:    int64(e.Delta.SyncBelow),
		TestMigration:  e.TestMigration || o.Test,
		DependsOn:      e.DependsOn,
	}
	if s.TestMigration && p.Target.Kind == plan.KindAzure {
		s.TestSubnet = p.Target.Azure.TestSubnet
		if s.TestSubnet == "" {
			return Server{}, errors.New("testMigration: an Azure test copy needs an isolated subnet: set target.azure.testSubnet to the ID of a subnet that cannot reach production")
		}
		if p.Target.Azure.Upload != plan.UploadStorage {
			return Server{}, errors.New("testMigration: on Azure it needs target.azure.upload: storage (a disk uploaded directly takes no more passes once it is finalized for a test copy)")
		}
	}
	if s.Bandwidth == 0 && e.WaveBandwidth > 0 {
		// The wave's cap, shared by the hosts it copies at once.
		s.Bandwidth = int64(e.WaveBandwidth) / int64(max(1, e.Concurrency))
	}
	if e.Window != nil {
		wave := e.Wave
		s.CutoverWindow = func(now time.Time) (bool, string) {
			start, end, ok := p.NextWindow(wave, now)
			switch {
			case !ok:
				return false, fmt.Sprintf("wave %s's window (%s) is over: give it a new one", wave, e.Window)
			case start.After(now):
				return false, fmt.Sprintf("wave %s's window to open at %s", wave, start.Format(time.RFC3339))
			case !end.IsZero() && end.Sub(now) < 10*time.Minute:
				return false, fmt.Sprintf("wave %s's window: it closes at %s, too soon to start a cutover", wave, end.Format(time.RFC3339))
			}
			return true, ""
		}
	}
	return s, nil
}
