package winrm

import (
	"strings"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote/psjson"
)

// sharePointOutput is what scripts/sharepoint.ps1 prints.
type sharePointOutput struct {
	Installed psjson.Bool
	Farm      *struct {
		Name         psjson.String
		BuildVersion psjson.String
		Status       psjson.Enum
	}
	Servers psjson.List[struct {
		Name   psjson.String
		Role   psjson.Enum
		Status psjson.Enum
	}]
	WebApplications psjson.List[struct {
		Name            psjson.String
		Url             psjson.String
		ApplicationPool psjson.String
	}]
	Sites psjson.List[struct {
		Url             psjson.String
		WebApplication  psjson.String
		ContentDatabase psjson.String
		Owner           psjson.String
		Storage         psjson.Uint
	}]
	ContentDatabases psjson.List[struct {
		Name             psjson.String
		Server           psjson.String
		WebApplication   psjson.String
		Status           psjson.Enum
		CurrentSiteCount psjson.Int
		DiskSizeRequired psjson.Uint
	}]
}

// objectStatuses maps Microsoft.SharePoint.Administration.SPObjectStatus.
var objectStatuses = map[int64]string{0: "Online", 1: "Disabled", 2: "Offline", 3: "Unprovisioning",
	4: "Provisioning", 5: "Upgrading", 6: "Patching"}

func parseSharePoint(h *inventory.Host, stdout []byte) ([]problem, error) {
	var out sharePointOutput
	if err := psjson.Decode(stdout, &out); err != nil {
		return nil, err
	}
	h.SharePoint = nil
	if !out.Installed.True() {
		markAbsent(h, "sharepoint")
		return nil, nil
	}
	farm := &inventory.SharePointFarm{}
	if f := out.Farm; f != nil {
		farm.Build = string(f.BuildVersion)
		farm.Release, farm.EndOfSupport = inventory.SharePointRelease(farm.Build)
		farm.Status = f.Status.Text(objectStatuses)
		farm.ConfigDatabase = string(f.Name)
	}
	for _, s := range out.Servers {
		farm.Servers = append(farm.Servers, inventory.SharePointServer{
			Name: string(s.Name), Role: s.Role.Text(nil), Status: s.Status.Text(objectStatuses),
		})
	}
	for _, w := range out.WebApplications {
		farm.WebApplications = append(farm.WebApplications, inventory.SharePointWebApp{
			Name: string(w.Name), URL: string(w.Url), ApplicationPool: string(w.ApplicationPool),
		})
	}
	for _, s := range out.Sites {
		farm.SiteCollections = append(farm.SiteCollections, inventory.SharePointSite{
			URL:             string(s.Url),
			WebApplication:  strings.TrimRight(string(s.WebApplication), "/"),
			ContentDatabase: string(s.ContentDatabase),
			Owner:           string(s.Owner),
			StorageBytes:    s.Storage.Value,
		})
	}
	for _, c := range out.ContentDatabases {
		farm.ContentDatabases = append(farm.ContentDatabases, inventory.SharePointContentDB{
			Name:           string(c.Name),
			Server:         string(c.Server),
			WebApplication: strings.TrimRight(string(c.WebApplication), "/"),
			Status:         c.Status.Text(objectStatuses),
			Sites:          c.CurrentSiteCount.Int(),
			SizeBytes:      c.DiskSizeRequired.Value,
		})
	}
	h.SharePoint = farm
	return nil, nil
}
