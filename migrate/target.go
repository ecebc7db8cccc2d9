package migrate

import (
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/azure"
	"github.com/shift-migrate/shift/cloud/local"
	"github.com/shift-migrate/shift/migrate/plan"
)

// OpenTarget opens the target a plan names: the local cloud in the state
// directory, or Azure with azidentity's default credential chain.
func OpenTarget(p *plan.Plan, state string) (cloud.Target, error) {
	switch p.Target.Kind {
	case "", plan.KindLocal:
		return local.New(local.Options{Dir: state})
	case plan.KindAzure:
		a := p.Target.Azure
		opts := azure.Options{SubscriptionID: a.Subscription, ResourceGroup: a.ResourceGroup, Location: a.Location,
			Subnet: a.Subnet, DiskSKU: diskSKU(a.DiskType)}
		if a.Upload == plan.UploadStorage {
			account := a.StorageAccount[strings.LastIndex(a.StorageAccount, "/")+1:]
			cred, err := azidentity.NewDefaultAzureCredential(nil)
			if err != nil {
				return nil, fmt.Errorf("azure credentials: %w", err)
			}
			c, err := container.NewClient(fmt.Sprintf("https://%s.blob.core.windows.net/%s", account, a.Container), cred, nil)
			if err != nil {
				return nil, fmt.Errorf("staging container %s/%s: %w", account, a.Container, err)
			}
			opts.Staging = &azure.Staging{Container: c, StorageAccountID: a.StorageAccount}
		}
		return azure.New(opts)
	}
	return nil, fmt.Errorf("plan target kind %q: want local or azure", p.Target.Kind)
}

// diskSKU maps the plan's disk tiers to Azure's storage types.
func diskSKU(tier string) armcompute.DiskStorageAccountTypes {
	switch tier {
	case "standard-hdd":
		return armcompute.DiskStorageAccountTypesStandardLRS
	case "premium-ssd":
		return armcompute.DiskStorageAccountTypesPremiumLRS
	}
	return armcompute.DiskStorageAccountTypesStandardSSDLRS
}
