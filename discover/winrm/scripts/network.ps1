# shift-probe: network
# IP-enabled network adapters, NIC teams (LBFO) and listening TCP ports with
# their processes. Prints one JSON object.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$problems = New-Object System.Collections.ArrayList

function Add-Problem([string]$Step, $ErrorRecord) {
    [void]$problems.Add([pscustomobject]@{ Step = $Step; Message = [string]$ErrorRecord.Exception.Message })
}

function Get-Class([string]$Class, [string]$Filter) {
    try { Get-CimInstance -ClassName $Class -Filter $Filter } catch { Get-WmiObject -Class $Class -Filter $Filter }
}

$adapters = @(Get-Class Win32_NetworkAdapterConfiguration 'IPEnabled = TRUE' | ForEach-Object {
    $config = $_
    $nic = Get-Class Win32_NetworkAdapter "DeviceID = '$($config.Index)'"
    [pscustomobject]@{
        Name = $nic.NetConnectionID
        Description = $config.Description
        MACAddress = $config.MACAddress
        NetEnabled = $nic.NetEnabled
        Speed = $nic.Speed
        DHCPEnabled = $config.DHCPEnabled
        IPAddress = @($config.IPAddress)
        IPSubnet = @($config.IPSubnet)
        DefaultIPGateway = @($config.DefaultIPGateway)
        DNSServerSearchOrder = @($config.DNSServerSearchOrder)
    }
})

$teams = @()
if (Get-Command -Name Get-NetLbfoTeam -ErrorAction SilentlyContinue) {
    try {
        $teams = @(Get-NetLbfoTeam | ForEach-Object {
            [pscustomobject]@{ Name = $_.Name; Members = @($_.Members); TeamingMode = [string]$_.TeamingMode; Status = [string]$_.Status }
        })
    } catch { Add-Problem 'teams' $_ }
}

$processes = @{}
Get-Process | ForEach-Object { $processes[$_.Id] = $_.ProcessName }

$listeners = @()
$netstat = $null
if (Get-Command -Name Get-NetTCPConnection -ErrorAction SilentlyContinue) {
    try {
        $listeners = @(Get-NetTCPConnection -State Listen | ForEach-Object {
            [pscustomobject]@{ LocalAddress = $_.LocalAddress; LocalPort = $_.LocalPort; OwningProcess = $_.OwningProcess; Process = $processes[[int]$_.OwningProcess] }
        })
    } catch { Add-Problem 'ports' $_ }
} else {
    $netstat = (netstat -ano -p TCP | Out-String)
}

[pscustomobject]@{
    Adapters = $adapters
    Teams = $teams
    Listeners = $listeners
    Netstat = $netstat
    Problems = @($problems)
} | ConvertTo-Json -Depth 4
