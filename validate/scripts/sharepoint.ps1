# shift-probe: validate-sharepoint
$HttpTimeoutSeconds = 60
# shift-parameters-end
# Fingerprint of the SharePoint farm as this server sees it, for shift
# validate. Windows PowerShell 5.1 with the Microsoft.SharePoint.PowerShell
# snap-in and the WebAdministration module. Farm build and status; servers
# and their service instances; web applications and their alternate access
# mappings; site collections; attached content databases; IIS application
# pools and sites; the SharePoint Timer service; and an HTTP request with
# Windows authentication (the WinRM account) to every site collection.
# Status values are SPObjectStatus numbers, service states ServiceController
# enum numbers, as 5.1 prints them.
#
# Prints {"Absent": "<why>"} when SharePoint is not installed.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

Add-PSSnapin Microsoft.SharePoint.PowerShell -ErrorAction SilentlyContinue
if (-not (Get-PSSnapin -Name Microsoft.SharePoint.PowerShell -ErrorAction SilentlyContinue)) {
    [pscustomobject]@{ Absent = 'SharePoint is not installed: the Microsoft.SharePoint.PowerShell snap-in is not registered' } | ConvertTo-Json -Depth 2
    return
}
try {
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
} catch { }

function Get-HttpAnswer([string]$Url) {
    $answer = [ordered]@{ Status = 0; Error = $null }
    try {
        $r = Invoke-WebRequest -Uri $Url -UseDefaultCredentials -UseBasicParsing -TimeoutSec $HttpTimeoutSeconds
        $answer.Status = [int]$r.StatusCode
    } catch [System.Net.WebException] {
        $response = $_.Exception.Response
        if ($response) { $answer.Status = [int]$response.StatusCode } else { $answer.Error = [string]$_.Exception.Message }
    } catch {
        $answer.Error = [string]$_.Exception.Message
    }
    $answer
}

# Get-SPFarm throws "Cannot access the local farm" when the account is not a
# SharePoint shell administrator: that ends the probe with the error.
$farm = Get-SPFarm

$servers = @(Get-SPServer | ForEach-Object {
    $server = $_
    [pscustomobject]@{
        Name = $server.Address
        Role = [string]$server.Role
        Status = $server.Status
        ServiceInstances = @($server.ServiceInstances | Where-Object { -not $_.Hidden } | ForEach-Object {
            [pscustomobject]@{ TypeName = $_.TypeName; Status = $_.Status }
        })
    }
})

$webApps = @(Get-SPWebApplication -IncludeCentralAdministration | ForEach-Object {
    $wa = $_
    [pscustomobject]@{
        Name = $wa.DisplayName
        Url = $wa.Url
        Status = $wa.Status
        AlternateUrls = @(Get-SPAlternateURL -WebApplication $wa | ForEach-Object {
            [pscustomobject]@{ Zone = [string]$_.Zone; IncomingUrl = $_.IncomingUrl; PublicUrl = $_.PublicUrl }
        })
    }
})

$sites = @(Get-SPSite -Limit All | ForEach-Object {
    $answer = Get-HttpAnswer $_.Url
    [pscustomobject]@{
        Url = $_.Url
        WebApplication = $_.WebApplication.Url
        ContentDatabase = $_.ContentDatabase.Name
        HttpStatus = $answer.Status
        HttpError = $answer.Error
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
    }
})

Import-Module WebAdministration
$appPools = @(Get-ChildItem -Path IIS:\AppPools | ForEach-Object { [pscustomobject]@{ Name = $_.Name; State = [string]$_.State } })
$iisSites = @(Get-Website | ForEach-Object { [pscustomobject]@{ Name = $_.Name; State = [string]$_.State } })

$timer = Get-Service -Name SPTimerV4 -ErrorAction SilentlyContinue | Select-Object Name, DisplayName, Status, StartType

[pscustomobject]@{
    Absent = $null
    Farm = [pscustomobject]@{
        Name = $farm.Name
        BuildVersion = $farm.BuildVersion.ToString()
        Status = $farm.Status
    }
    Servers = $servers
    WebApplications = $webApps
    Sites = $sites
    ContentDatabases = $contentDatabases
    AppPools = $appPools
    IisSites = $iisSites
    TimerService = $timer
} | ConvertTo-Json -Depth 5
