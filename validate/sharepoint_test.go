package validate

import (
	"strings"
	"testing"
)

func spBase() *SharePoint {
	return &SharePoint{
		Farm: SPFarm{Name: "SharePoint_Config", BuildVersion: "16.0.10337.12109", Status: "Online"},
		Servers: []SPServer{{Name: "SP01", Role: "SingleServerFarm", Status: "Online", Services: []SPServiceInstance{
			{Type: "Microsoft SharePoint Foundation Web Application", Status: "Online"}, {Type: "Machine Translation Service", Status: "Disabled"}}}},
		WebApplications: []SPWebApplication{{Name: "SharePoint - 80", URL: "http://sp01/", Status: "Online",
			AlternateURLs: []SPAlternateURL{{Zone: "Default", IncomingURL: "http://sp01", PublicURL: "http://sp01"}}}},
		Sites: []SPSite{{URL: "http://sp01", ContentDatabase: "WSS_Content", HTTPStatus: 200}, {URL: "http://sp01/sites/hr", ContentDatabase: "WSS_HR", HTTPStatus: 200},
			{URL: "http://sp01/sites/anon", ContentDatabase: "WSS_Content", HTTPStatus: 401}},
		ContentDatabases: []SPContentDatabase{{Name: "WSS_Content", WebApplication: "http://sp01/", Status: "Online", Sites: 2},
			{Name: "WSS_HR", WebApplication: "http://sp01/", Status: "Online", Sites: 1}},
		AppPools:     []IISItem{{Name: "SharePoint - 80", State: "Started"}, {Name: "DefaultAppPool", State: "Stopped"}},
		IISSites:     []IISItem{{Name: "SharePoint - 80", State: "Started"}},
		TimerService: &WindowsService{Name: "SPTimerV4", State: "Running", StartMode: "Automatic"},
	}
}

func TestCompareSharePoint(t *testing.T) {
	type want struct {
		sev           Severity
		check, object string
	}
	for _, tc := range []struct {
		name   string
		before bool
		edit   func(*SharePoint)
		want   []want
	}{
		{"identical", true, func(*SharePoint) {}, nil},
		{"alone: a site answering 401 blocks", false, func(*SharePoint) {}, []want{{Blocking, "sharepoint/site-http", "site collection http://sp01/sites/anon"}}},
		{"content database detached takes its sites with it", true, func(s *SharePoint) {
			s.ContentDatabases, s.Sites = s.ContentDatabases[:1], append(s.Sites[:1], s.Sites[2])
		}, []want{{Blocking, "sharepoint/content-database", "content database WSS_HR"}}},
		{"site 503", true, func(s *SharePoint) { s.Sites[1].HTTPStatus = 503 }, []want{{Blocking, "sharepoint/site-http", "site collection http://sp01/sites/hr"}}},
		{"site no answer", true, func(s *SharePoint) { s.Sites[0].HTTPStatus, s.Sites[0].HTTPError = 0, "timed out" },
			[]want{{Blocking, "sharepoint/site-http", "site collection http://sp01"}}},
		{"site missing", true, func(s *SharePoint) { s.Sites = s.Sites[1:] }, []want{{Blocking, "sharepoint/site", "site collection http://sp01"}}},
		{"farm and build", true, func(s *SharePoint) { s.Farm.Status, s.Farm.BuildVersion = "Upgrading", "16.0.10337.12110" },
			[]want{{Blocking, "sharepoint/farm", "farm SharePoint_Config"}, {Warning, "sharepoint/build", "farm SharePoint_Config"}}},
		{"service instance stopped", true, func(s *SharePoint) { s.Servers[0].Services[0].Status = "Disabled" },
			[]want{{Blocking, "sharepoint/service-instance", "service instance Microsoft SharePoint Foundation Web Application on SP01"}}},
		{"server gone", true, func(s *SharePoint) { s.Servers = nil }, []want{{Blocking, "sharepoint/server", "server SP01"}}},
		{"alternate access mapping", true, func(s *SharePoint) { s.WebApplications[0].AlternateURLs[0].PublicURL = "http://sp01.contoso.local" },
			[]want{{Blocking, "sharepoint/alternate-url", "alternate access mapping http://sp01"}}},
		{"web application missing", true, func(s *SharePoint) { s.WebApplications = nil }, []want{{Blocking, "sharepoint/web-application", "web application http://sp01/"}}},
		{"app pool and IIS site stopped", true, func(s *SharePoint) { s.AppPools[0].State, s.IISSites[0].State = "Stopped", "Stopped" },
			[]want{{Blocking, "sharepoint/app-pool", "app pool SharePoint - 80"}, {Blocking, "sharepoint/iis-site", "IIS site SharePoint - 80"}}},
		{"timer stopped", true, func(s *SharePoint) { s.TimerService.State = "Stopped" }, []want{{Blocking, "sharepoint/timer", "service SPTimerV4"}}},
		{"alone: timer missing", false, func(s *SharePoint) { s.TimerService, s.Sites = nil, s.Sites[:2] }, []want{{Blocking, "sharepoint/timer", "service SPTimerV4"}}},
		{"alone: content database offline", false, func(s *SharePoint) { s.ContentDatabases[1].Status, s.Sites = "Offline", s.Sites[:2] },
			[]want{{Blocking, "sharepoint/content-database", "content database WSS_HR"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := spBase()
			tc.edit(after)
			var before *SharePoint
			if tc.before {
				before = spBase()
			}
			got := compareSharePoint(before, after, "")
			if len(got) != len(tc.want) {
				t.Fatalf("got %d findings, want %d: %s", len(got), len(tc.want), findingsText(got))
			}
			for i, w := range tc.want {
				if g := got[i]; g.Severity != w.sev || g.Check != w.check || g.Object != w.object || g.Message == "" {
					t.Errorf("finding %d: %s, want %s %s %q", i, findingsText(got[i:i+1]), w.sev, w.check, w.object)
				}
			}
		})
	}
	if fs := compareSharePoint(spBase(), nil, ""); len(fs) != 1 || fs[0].Check != "sharepoint/present" || fs[0].Severity != Blocking || fs[0].Actual != "not read" {
		t.Errorf("SharePoint not read: %s", findingsText(fs))
	}
	const why = "SharePoint is not installed: the snap-in is not registered"
	if fs := compareSharePoint(spBase(), nil, why); len(fs) != 1 || fs[0].Check != "sharepoint/present" || fs[0].Severity != Blocking ||
		fs[0].Actual != "absent" || !strings.Contains(fs[0].Message, why) {
		t.Errorf("SharePoint gone: %s", findingsText(fs))
	}
	if fs := compareSharePoint(nil, nil, why); fs != nil {
		t.Errorf("no SharePoint either side: %s", findingsText(fs))
	}
}
