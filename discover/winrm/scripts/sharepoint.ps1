# shift-probe: sharepoint
# The SharePoint farm this server belongs to, through the SharePoint snap-in.
# Prints {"Installed": false} when the snap-in is not registered. Every
# SharePoint object is a deep .NET graph: only scalar properties are selected,
# and Version, Uri and object references are turned into strings here.
# Status values are SPObjectStatus numbers.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

Add-PSSnapin Microsoft.SharePoint.PowerShell -ErrorAction SilentlyContinue
if (-not (Get-PSSnapin -Name Microsoft.SharePoint.PowerShell -ErrorAction SilentlyContinue)) {
    [pscustomobject]@{ Installed = $false } | ConvertTo-Json -Depth 2
    return
}

$farm = Get-SPFarm
$servers = @(Get-SPServer | ForEach-Object {
    [pscustomobject]@{ Name = $_.Address; Role = [string]$_.Role; Status = $_.Status }
})
$webApps = @(Get-SPWebApplication | ForEach-Object {
    [pscustomobject]@{ Name = $_.DisplayName; Url = $_.Url; ApplicationPool = $_.ApplicationPool.Name; Status = $_.Status }
})
$sites = @(Get-SPSite -Limit All | ForEach-Object {
    [pscustomobject]@{
        Url = $_.Url
        WebApplication = $_.WebApplication.Url
        ContentDatabase = $_.ContentDatabase.Name
        Owner = if ($_.Owner) { $_.Owner.UserLogin } else { $null }
        Storage = $_.Usage.Storage
    }
    $_.Dispose()
})
$contentDatabases = @(Get-SPContentDatabase | ForEach-Object {
    [pscustomobject]@{
        Name = $_.Name
        Server = [string]$_.Server
        WebApplication = $_.WebApplication.Url
        Status = $_.Status
        CurrentSiteCount = $_.CurrentSiteCount
        DiskSizeRequired = $_.DiskSizeRequired
    }
})

[pscustomobject]@{
    Installed = $true
    Farm = [pscustomobject]@{
        Name = $farm.Name
        Id = [string]$farm.Id
        BuildVersion = $farm.BuildVersion.ToString()
        Status = $farm.Status
    }
    Servers = $servers
    WebApplications = $webApps
    Sites = $sites
    ContentDatabases = $contentDatabases
} | ConvertTo-Json -Depth 4
