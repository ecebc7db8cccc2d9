package azure

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/shift-migrate/shift/cloud"
)

// MaxPageWrite is the largest Put Page Azure accepts (4 MiB). Azurite does
// not enforce it; this package does.
const MaxPageWrite = 4 << 20

// Options configure a Target.
type Options struct {
	// SubscriptionID, ResourceGroup and Location say where disks, NICs and
	// VMs are created. All three must be set.
	SubscriptionID string
	ResourceGroup  string
	Location       string

	// Credential authenticates ARM calls; nil means azidentity's default
	// chain (environment, workload identity, managed identity, Azure CLI).
	Credential azcore.TokenCredential
	// ARM are the ARM clients' options (cloud, transport); nil means the
	// public cloud over HTTPS.
	ARM *arm.ClientOptions
	// Blob are the options of the page blob clients that upload through a
	// SAS; nil means the defaults. Their retry policy is replaced: this
	// package retries Put Page itself (see Retry).
	Blob *policy.ClientOptions

	// Subnet is the subnet ID of NICs whose spec names none; empty means
	// every NIC must name its subnet.
	Subnet string
	// DiskSKU is the managed disks' storage type; empty means
	// StandardSSD_LRS.
	DiskSKU armcompute.DiskStorageAccountTypes
	// Staging, when set, selects the import path: disks are written as page
	// blobs into this container and imported as managed disks at Finalize.
	// nil means direct upload into managed disks.
	Staging *Staging

	// Parallel is the number of Put Page requests in flight per disk; 0
	// means 8.
	Parallel int
	// Retry is the retry policy of page writes; the zero value means 6
	// attempts from 200 ms doubling to 10 s.
	Retry Retry
	// PollInterval is how often long-running ARM operations are polled; 0
	// means 5 s.
	PollInterval time.Duration
	// SASDuration is how long a granted SAS lives; 0 means 24 hours.
	SASDuration time.Duration
	// Now stamps VHD footers; nil means time.Now.
	Now func() time.Time
	// Logger receives operational messages; nil discards them. Secrets
	// (tokens, SAS URLs) are never logged.
	Logger *slog.Logger
}

// Staging is the storage account of the import path.
type Staging struct {
	// Container holds one page blob per disk, "<disk>.vhd"; the caller
	// builds it with the account's credential.
	Container *container.Client
	// StorageAccountID is the ARM ID of the container's storage account,
	// which Azure needs to import a blob as a managed disk.
	StorageAccountID string
}

// Target is the Azure cloud.Target. Build one with New; it is safe for
// concurrent use.
type Target struct {
	opts  Options
	disks *armcompute.DisksClient
	vms   *armcompute.VirtualMachinesClient
	nics  *armnetwork.InterfacesClient
	log   *slog.Logger
}

var (
	_ cloud.Target     = (*Target)(nil)
	_ cloud.DiskReader = (*Target)(nil)
	_ cloud.Disk       = (*handle)(nil)
)

// New checks the options and builds the ARM clients; it makes no call.
func New(opts Options) (*Target, error) {
	var missing []string
	if opts.SubscriptionID == "" {
		missing = append(missing, "subscription ID")
	}
	if opts.ResourceGroup == "" {
		missing = append(missing, "resource group")
	}
	if opts.Location == "" {
		missing = append(missing, "location")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("azure: %s not set (give them in the target's configuration): %w", strings.Join(missing, ", "), cloud.ErrInvalid)
	}
	if opts.Staging != nil && (opts.Staging.Container == nil || opts.Staging.StorageAccountID == "") {
		return nil, fmt.Errorf("azure: staging needs a container and its storage account's ID: %w", cloud.ErrInvalid)
	}
	if opts.Credential == nil {
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("azure: credentials: %w (sign in with az login or set AZURE_CLIENT_ID, AZURE_TENANT_ID and a secret or certificate)", err)
		}
		opts.Credential = cred
	}
	if opts.DiskSKU == "" {
		opts.DiskSKU = armcompute.DiskStorageAccountTypesStandardSSDLRS
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	if opts.SASDuration <= 0 {
		opts.SASDuration = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Retry = opts.Retry.withDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cf, err := armcompute.NewClientFactory(opts.SubscriptionID, opts.Credential, opts.ARM)
	if err != nil {
		return nil, fmt.Errorf("azure: compute client: %w", err)
	}
	nf, err := armnetwork.NewClientFactory(opts.SubscriptionID, opts.Credential, opts.ARM)
	if err != nil {
		return nil, fmt.Errorf("azure: network client: %w", err)
	}
	return &Target{
		opts:  opts,
		disks: cf.NewDisksClient(),
		vms:   cf.NewVirtualMachinesClient(),
		nics:  nf.NewInterfacesClient(),
		log:   log,
	}, nil
}

// Kind returns "azure".
func (t *Target) Kind() string { return "azure" }

func (t *Target) poll() *runtime.PollUntilDoneOptions {
	return &runtime.PollUntilDoneOptions{Frequency: t.opts.PollInterval}
}

// diskID is the ARM ID of a managed disk of the target's resource group.
func (t *Target) diskID(name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/disks/%s", t.opts.SubscriptionID, t.opts.ResourceGroup, name)
}

func (t *Target) nicID(name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/networkInterfaces/%s", t.opts.SubscriptionID, t.opts.ResourceGroup, name)
}

// lastSegment is the name at the end of an ARM ID.
func lastSegment(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

func ctxErr(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("azure: %s: %w", what, err)
	}
	return nil
}

// cleanupCtx is the context of cleanup after a failure: detached from the
// caller's cancellation, with its own deadline.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
}

// classify wraps an Azure error with the contract's sentinel that matches
// it, so callers test with errors.Is; what names the operation.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		if s := sentinel(re.StatusCode, re.ErrorCode); s != nil {
			return redact(fmt.Errorf("azure: %s: %w: %w", what, s, err))
		}
	}
	return redact(fmt.Errorf("azure: %s: %w", what, err))
}

// sentinel maps an HTTP status and Azure error code to a contract error;
// nil means none fits.
func sentinel(status int, code string) error {
	switch code {
	case "ResourceNotFound", "NotFound", "BlobNotFound", "ContainerNotFound", "ResourceGroupNotFound":
		return cloud.ErrNotFound
	case "DiskInUse", "OperationNotAllowed", "LeaseIdMissing", "LeaseAlreadyPresent", "AttachDiskWhileBeingDetached", "ConflictingUserInput":
		return cloud.ErrInUse
	case "BlobAlreadyExists", "ResourceExists", "AlreadyExists":
		return cloud.ErrExists
	case "InvalidParameter", "InvalidResourceName", "BadRequest", "InvalidHeaderValue", "InvalidPageRange", "InvalidRange":
		return cloud.ErrInvalid
	}
	switch status {
	case http.StatusNotFound:
		return cloud.ErrNotFound
	case http.StatusConflict:
		return cloud.ErrInUse
	}
	return nil
}

func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && sentinel(re.StatusCode, re.ErrorCode) == cloud.ErrNotFound
}
