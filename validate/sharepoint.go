package validate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shift-migrate/shift/remote/psjson"
)

// spProbeOutput is what scripts/sharepoint.ps1 prints.
type spProbeOutput struct {
	Absent psjson.String
	Farm   *struct {
		Name         psjson.String
		BuildVersion psjson.String
		Status       psjson.Int
	}
	Servers psjson.List[struct {
		Name             psjson.String
		Role             psjson.String
		Status           psjson.Int
		ServiceInstances psjson.List[struct {
			TypeName psjson.String
			Status   psjson.Int
		}]
	}]
	WebApplications psjson.List[struct {
		Name          psjson.String
		Url           psjson.String
		Status        psjson.Int
		AlternateUrls psjson.List[struct {
			Zone        psjson.String
			IncomingUrl psjson.String
			PublicUrl   psjson.String
		}]
	}]
	Sites psjson.List[struct {
		Url             psjson.String
		WebApplication  psjson.String
		ContentDatabase psjson.String
		HttpStatus      psjson.Int
		HttpError       psjson.String
	}]
	ContentDatabases psjson.List[struct {
		Name             psjson.String
		Server           psjson.String
		WebApplication   psjson.String
		Status           psjson.Int
		CurrentSiteCount psjson.Int
	}]
	AppPools     psjson.List[iisOutput]
	IisSites     psjson.List[iisOutput]
	TimerService *winServiceOutput
}

type iisOutput struct {
	Name  psjson.String
	State psjson.String
}

// spStatuses are the SPObjectStatus names (MS-WSSFO3 2.2.2.2).
var spStatuses = map[int64]string{0: "Online", 1: "Disabled", 2: "Offline", 3: "Unprovisioning", 4: "Provisioning", 5: "Upgrading"}

func spStatus(n psjson.Int) string { return winEnumName(n, spStatuses) }

// readSharePoint reads scripts/sharepoint.ps1's output: nil and why when
// SharePoint is not installed.
func readSharePoint(stdout []byte) (sp *SharePoint, absent string, err error) {
	var out spProbeOutput
	if err := psjson.Decode(stdout, &out); err != nil {
		return nil, "", err
	}
	if out.Absent != "" {
		return nil, string(out.Absent), nil
	}
	if out.Farm == nil {
		return nil, "", fmt.Errorf("no Farm in the output")
	}
	sp = &SharePoint{Farm: SPFarm{Name: string(out.Farm.Name), BuildVersion: string(out.Farm.BuildVersion), Status: spStatus(out.Farm.Status)}}
	for _, s := range out.Servers {
		srv := SPServer{Name: string(s.Name), Role: string(s.Role), Status: spStatus(s.Status)}
		for _, si := range s.ServiceInstances {
			srv.Services = append(srv.Services, SPServiceInstance{Type: string(si.TypeName), Status: spStatus(si.Status)})
		}
		sp.Servers = append(sp.Servers, srv)
	}
	for _, w := range out.WebApplications {
		wa := SPWebApplication{Name: string(w.Name), URL: string(w.Url), Status: spStatus(w.Status)}
		for _, m := range w.AlternateUrls {
			wa.AlternateURLs = append(wa.AlternateURLs, SPAlternateURL{Zone: string(m.Zone), IncomingURL: string(m.IncomingUrl), PublicURL: string(m.PublicUrl)})
		}
		sp.WebApplications = append(sp.WebApplications, wa)
	}
	for _, s := range out.Sites {
		sp.Sites = append(sp.Sites, SPSite{URL: string(s.Url), WebApplication: string(s.WebApplication), ContentDatabase: string(s.ContentDatabase),
			HTTPStatus: int(s.HttpStatus.Value), HTTPError: string(s.HttpError)})
	}
	for _, d := range out.ContentDatabases {
		sp.ContentDatabases = append(sp.ContentDatabases, SPContentDatabase{Name: string(d.Name), Server: string(d.Server),
			WebApplication: string(d.WebApplication), Status: spStatus(d.Status), Sites: int(d.CurrentSiteCount.Value)})
	}
	for _, p := range out.AppPools {
		sp.AppPools = append(sp.AppPools, IISItem{Name: string(p.Name), State: string(p.State)})
	}
	for _, s := range out.IisSites {
		sp.IISSites = append(sp.IISSites, IISItem{Name: string(s.Name), State: string(s.State)})
	}
	if t := out.TimerService; t != nil && t.Name != "" {
		svc := t.service()
		sp.TimerService = &svc
	}
	return sp, "", nil
}

// compareSharePoint measures after against before; before nil judges after
// alone: farm, servers, web applications and content databases Online, the
// timer running, every site collection answering 200. absent is why the
// probe found no SharePoint after ("" when it did not say).
func compareSharePoint(before, after *SharePoint, absent string) []Finding {
	switch {
	case before == nil && after == nil:
		return nil
	case after == nil && absent != "":
		return []Finding{winFinding(Blocking, "sharepoint/present", "SharePoint farm "+before.Farm.Name, "present", "absent",
			"SharePoint was fingerprinted before and is not on the target now: %s", absent)}
	case after == nil:
		return []Finding{winFinding(Blocking, "sharepoint/present", "SharePoint farm "+before.Farm.Name, "present", "not read",
			"SharePoint was fingerprinted before but could not be read now (see the probe errors)")}
	}
	if before == nil {
		before = &SharePoint{Farm: SPFarm{Status: "Online"}}
		for _, s := range after.Sites {
			before.Sites = append(before.Sites, SPSite{URL: s.URL, ContentDatabase: s.ContentDatabase, HTTPStatus: 200})
		}
		return spCheckAlone(after, before.Sites)
	}
	var out []Finding
	if before.Farm.Status != after.Farm.Status {
		out = append(out, winFinding(Blocking, "sharepoint/farm", "farm "+after.Farm.Name, before.Farm.Status, after.Farm.Status, "the SharePoint farm is %s", after.Farm.Status))
	}
	if before.Farm.BuildVersion != after.Farm.BuildVersion {
		out = append(out, winFinding(Warning, "sharepoint/build", "farm "+after.Farm.Name, before.Farm.BuildVersion, after.Farm.BuildVersion, "the farm's build version changed"))
	}
	out = append(out, compareSPServers(before, after)...)
	out = append(out, compareSPWebApps(before, after)...)
	detached, fs := compareSPContentDBs(before, after)
	out = append(out, fs...)
	out = append(out, compareSPSites(before.Sites, after, detached)...)
	out = append(out, compareIIS("app pool", "sharepoint/app-pool", before.AppPools, after.AppPools)...)
	out = append(out, compareIIS("IIS site", "sharepoint/iis-site", before.IISSites, after.IISSites)...)
	out = append(out, compareSPTimer(before.TimerService, after.TimerService)...)
	return out
}

// spCheckAlone judges a SharePoint fingerprint without a before.
func spCheckAlone(after *SharePoint, sites []SPSite) []Finding {
	var out []Finding
	if after.Farm.Status != "Online" {
		out = append(out, winFinding(Blocking, "sharepoint/farm", "farm "+after.Farm.Name, "Online", after.Farm.Status, "the SharePoint farm is %s", after.Farm.Status))
	}
	for _, s := range after.Servers {
		if s.Status != "Online" {
			out = append(out, winFinding(Blocking, "sharepoint/server", "server "+s.Name, "Online", s.Status, "farm server %s is %s", s.Name, s.Status))
		}
	}
	for _, w := range after.WebApplications {
		if w.Status != "Online" {
			out = append(out, winFinding(Blocking, "sharepoint/web-application", "web application "+w.URL, "Online", w.Status, "web application %s is %s", w.URL, w.Status))
		}
	}
	for _, d := range after.ContentDatabases {
		if d.Status != "Online" {
			out = append(out, winFinding(Blocking, "sharepoint/content-database", "content database "+d.Name, "Online", d.Status, "content database %s is %s", d.Name, d.Status))
		}
	}
	out = append(out, compareSPSites(sites, after, nil)...)
	// IIS pools and sites are not judged alone: some are stopped on purpose.
	if t := after.TimerService; t == nil || t.State != "Running" {
		out = append(out, compareSPTimer(&WindowsService{Name: "SPTimerV4", State: "Running"}, t)...)
	}
	return out
}

func compareSPServers(before, after *SharePoint) []Finding {
	var out []Finding
	servers := winByName(after.Servers, func(s SPServer) string { return s.Name })
	for _, b := range before.Servers {
		a, ok := servers[strings.ToLower(b.Name)]
		switch {
		case !ok:
			out = append(out, winFinding(Blocking, "sharepoint/server", "server "+b.Name, "in the farm", "missing", "server %s is no longer in the farm", b.Name))
			continue
		case b.Status == "Online" && a.Status != "Online":
			out = append(out, winFinding(Blocking, "sharepoint/server", "server "+b.Name, b.Status, a.Status, "farm server %s is %s", b.Name, a.Status))
			continue
		}
		services := map[string]string{}
		for _, s := range a.Services {
			if services[s.Type] != "Online" {
				services[s.Type] = s.Status
			}
		}
		seen := map[string]bool{}
		for _, s := range b.Services {
			if s.Status != "Online" || seen[s.Type] {
				continue
			}
			seen[s.Type] = true
			if got := services[s.Type]; got != "Online" {
				if got == "" {
					got = "missing"
				}
				out = append(out, winFinding(Blocking, "sharepoint/service-instance", "service instance "+s.Type+" on "+b.Name, "Online", got,
					"service instance %s on %s was online and is %s", s.Type, b.Name, got))
			}
		}
	}
	return out
}

func compareSPWebApps(before, after *SharePoint) []Finding {
	var out []Finding
	apps := winByName(after.WebApplications, func(w SPWebApplication) string { return w.URL })
	for _, b := range before.WebApplications {
		obj := "web application " + b.URL
		a, ok := apps[strings.ToLower(b.URL)]
		if !ok {
			out = append(out, winFinding(Blocking, "sharepoint/web-application", obj, "present", "missing", "web application %s (%s) is missing", b.URL, b.Name))
			continue
		}
		if b.Status != a.Status {
			out = append(out, winFinding(Blocking, "sharepoint/web-application", obj, b.Status, a.Status, "web application %s is %s", b.URL, a.Status))
		}
		aams := winByName(a.AlternateURLs, func(m SPAlternateURL) string { return m.IncomingURL })
		for _, m := range b.AlternateURLs {
			am, ok := aams[strings.ToLower(m.IncomingURL)]
			switch {
			case !ok:
				out = append(out, winFinding(Blocking, "sharepoint/alternate-url", "alternate access mapping "+m.IncomingURL, m.Zone+" → "+m.PublicURL, "missing",
					"the alternate access mapping %s (%s zone) of %s is missing", m.IncomingURL, m.Zone, b.URL))
			case am.Zone != m.Zone || !strings.EqualFold(am.PublicURL, m.PublicURL):
				out = append(out, winFinding(Blocking, "sharepoint/alternate-url", "alternate access mapping "+m.IncomingURL, m.Zone+" → "+m.PublicURL, am.Zone+" → "+am.PublicURL,
					"the alternate access mapping %s of %s changed", m.IncomingURL, b.URL))
			}
		}
	}
	return out
}

// compareSPContentDBs returns the content databases no longer attached
// (their sites are reported with them) and the findings.
func compareSPContentDBs(before, after *SharePoint) (map[string]bool, []Finding) {
	var out []Finding
	detached := map[string]bool{}
	dbs := winByName(after.ContentDatabases, func(d SPContentDatabase) string { return d.Name })
	for _, b := range before.ContentDatabases {
		obj := "content database " + b.Name
		a, ok := dbs[strings.ToLower(b.Name)]
		switch {
		case !ok:
			detached[strings.ToLower(b.Name)] = true
			var sites []string
			for _, s := range before.Sites {
				if strings.EqualFold(s.ContentDatabase, b.Name) {
					sites = append(sites, s.URL)
				}
			}
			out = append(out, winFinding(Blocking, "sharepoint/content-database", obj, "attached to "+b.WebApplication, "not attached",
				"content database %s is not attached to the farm: its %d site collection(s) are gone (%s); reattach it with Mount-SPContentDatabase",
				b.Name, len(sites), strings.Join(sites, ", ")))
		case b.Status != a.Status:
			out = append(out, winFinding(Blocking, "sharepoint/content-database", obj, b.Status, a.Status, "content database %s is %s", b.Name, a.Status))
		}
	}
	return detached, out
}

// compareSPSites checks that every site collection of before is there and
// answers as it did (200 when before did not answer at all). Sites of a
// detached content database are reported with it.
func compareSPSites(before []SPSite, after *SharePoint, detached map[string]bool) []Finding {
	var out []Finding
	sites := winByName(after.Sites, func(s SPSite) string { return strings.TrimSuffix(s.URL, "/") })
	for _, b := range before {
		if detached[strings.ToLower(b.ContentDatabase)] {
			continue
		}
		obj := "site collection " + b.URL
		a, ok := sites[strings.ToLower(strings.TrimSuffix(b.URL, "/"))]
		if !ok {
			out = append(out, winFinding(Blocking, "sharepoint/site", obj, "present", "missing", "site collection %s is missing", b.URL))
			continue
		}
		want := b.HTTPStatus
		if want == 0 {
			want = 200
		}
		if a.HTTPStatus != want {
			actual := strconv.Itoa(a.HTTPStatus)
			detail := ""
			if a.HTTPStatus == 0 {
				actual, detail = "no answer", ": "+a.HTTPError
			}
			out = append(out, winFinding(Blocking, "sharepoint/site-http", obj, strconv.Itoa(want), actual,
				"site collection %s answers %s to a request with Windows authentication, expected %d%s", b.URL, actual, want, detail))
		}
	}
	return out
}

func compareIIS(kind, check string, before, after []IISItem) []Finding {
	var out []Finding
	items := winByName(after, func(i IISItem) string { return i.Name })
	for _, b := range before {
		a, ok := items[strings.ToLower(b.Name)]
		switch {
		case !ok:
			out = append(out, winFinding(Blocking, check, kind+" "+b.Name, b.State, "missing", "%s %s is missing", kind, b.Name))
		case b.State == "Started" && a.State != "Started":
			out = append(out, winFinding(Blocking, check, kind+" "+b.Name, b.State, a.State, "%s %s is %s", kind, b.Name, a.State))
		}
	}
	return out
}

func compareSPTimer(before, after *WindowsService) []Finding {
	if before == nil || before.State != "Running" {
		return nil
	}
	state := "missing"
	if after != nil {
		state = after.State
	}
	if state == "Running" {
		return nil
	}
	return []Finding{winFinding(Blocking, "sharepoint/timer", "service SPTimerV4", "Running", state,
		"the SharePoint Timer service is %s: timer jobs (alerts, workflows, search crawls) do not run", state)}
}
