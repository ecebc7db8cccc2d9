# shift-probe: samples
# Performance samples from Get-Counter: processor busy share, available
# memory, physical disk operations and bytes per second, network bytes per
# second. Windows PowerShell 5.1 (Windows Server 2012 R2 and later), English
# counter names. Prints one JSON object once every sample is taken. shift
# rewrites the next line with the number of samples and the seconds between
# them; nothing else in the script changes from run to run.
$ShiftSamples = 1; $ShiftInterval = 1
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$problems = New-Object System.Collections.ArrayList

function Add-Problem([string]$Step, $ErrorRecord) {
    [void]$problems.Add([pscustomobject]@{ Step = $Step; Message = [string]$ErrorRecord.Exception.Message })
}

# The last part of a counter path names the field it fills; Network
# Interface(*) has one instance per adapter, added up.
$fields = [ordered]@{
    '% processor time'      = 'CpuPercent'
    'available bytes'       = 'AvailableBytes'
    'disk reads/sec'        = 'DiskReadsPerSec'
    'disk writes/sec'       = 'DiskWritesPerSec'
    'disk read bytes/sec'   = 'DiskReadBytesPerSec'
    'disk write bytes/sec'  = 'DiskWriteBytesPerSec'
    'bytes received/sec'    = 'NetInBytesPerSec'
    'bytes sent/sec'        = 'NetOutBytesPerSec'
}
$counters = @(
    '\Processor(_Total)\% Processor Time',
    '\Memory\Available Bytes',
    '\PhysicalDisk(_Total)\Disk Reads/sec',
    '\PhysicalDisk(_Total)\Disk Writes/sec',
    '\PhysicalDisk(_Total)\Disk Read Bytes/sec',
    '\PhysicalDisk(_Total)\Disk Write Bytes/sec',
    '\Network Interface(*)\Bytes Received/sec',
    '\Network Interface(*)\Bytes Sent/sec'
)

$total = $null
try {
    try { $total = (Get-CimInstance -ClassName Win32_ComputerSystem).TotalPhysicalMemory }
    catch { $total = (Get-WmiObject -Class Win32_ComputerSystem).TotalPhysicalMemory }
} catch { Add-Problem 'memory' $_ }

$samples = New-Object System.Collections.ArrayList
try {
    # A counter that does not exist on this host is reported once and left
    # null in every sample; the others are still read.
    Get-Counter -Counter $counters -SampleInterval $ShiftInterval -MaxSamples $ShiftSamples -ErrorAction SilentlyContinue -ErrorVariable missing | ForEach-Object {
        $s = [ordered]@{ Timestamp = $_.Timestamp }
        foreach ($f in $fields.Values) { $s[$f] = $null }
        foreach ($c in $_.CounterSamples) {
            $f = $fields[$c.Path.Substring($c.Path.LastIndexOf('\') + 1).ToLowerInvariant()]
            if (-not $f -or $c.Status -ne 0) { continue }
            if ($f -like 'Net*' -and $s[$f] -ne $null) { $s[$f] += $c.CookedValue } else { $s[$f] = $c.CookedValue }
        }
        [void]$samples.Add([pscustomobject]$s)
    }
    foreach ($e in @($missing | Select-Object -First 3)) { Add-Problem 'counters' $e }
} catch { Add-Problem 'counters' $_ }

[pscustomobject]@{
    TotalPhysicalMemory = $total
    SampleInterval = $ShiftInterval
    Samples = @($samples)
    Problems = @($problems)
} | ConvertTo-Json -Depth 3
