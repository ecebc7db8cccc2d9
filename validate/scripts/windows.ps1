# shift-probe: validate-windows
$HttpChecks = '[]'
$HttpTimeoutSeconds = 30
# shift-parameters-end
# What every Windows host has, for shift validate: its name, when it booted,
# its clock (for the skew), free space per fixed volume, and the HTTP checks
# the caller named, requested from inside the host. Windows PowerShell 5.1.
# $HttpChecks is a JSON array of {"Name", "Url", "Contains"}; URLs (which may
# hold a token) and bodies are not printed back. Prints one JSON object.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
} catch { }

function Get-HttpAnswer([string]$Url, [string]$Contains) {
    $answer = [ordered]@{ Status = 0; Contains = $null; Error = $null }
    try {
        $r = Invoke-WebRequest -Uri $Url -UseDefaultCredentials -UseBasicParsing -TimeoutSec $HttpTimeoutSeconds
        $answer.Status = [int]$r.StatusCode
        if ($Contains) { $answer.Contains = ([string]$r.Content).Contains($Contains) }
    } catch [System.Net.WebException] {
        $response = $_.Exception.Response
        if ($response) { $answer.Status = [int]$response.StatusCode } else { $answer.Error = [string]$_.Exception.Message }
    } catch {
        $answer.Error = [string]$_.Exception.Message
    }
    $answer
}

$os = Get-CimInstance -ClassName Win32_OperatingSystem | Select-Object CSName, LastBootUpTime
$cs = Get-CimInstance -ClassName Win32_ComputerSystem | Select-Object DNSHostName, Domain
$now = [DateTime]::UtcNow
# One object per fixed volume: a bare object when the host has one.
$volumes = Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType = 3' | Select-Object DeviceID, Size, FreeSpace

# ConvertFrom-Json -InputObject keeps a JSON array one array; foreach walks it.
$checks = ConvertFrom-Json -InputObject $HttpChecks
$http = @(foreach ($check in $checks) {
    $a = Get-HttpAnswer $check.Url $check.Contains
    [pscustomobject]@{ Name = $check.Name; Status = $a.Status; Contains = $a.Contains; Error = $a.Error }
})

[pscustomobject]@{
    Hostname = $os.CSName
    DNSHostName = $cs.DNSHostName
    Domain = $cs.Domain
    LastBootUpTime = $os.LastBootUpTime
    UtcNow = $now
    Volumes = $volumes
    Http = $http
} | ConvertTo-Json -Depth 4
