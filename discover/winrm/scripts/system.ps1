# shift-probe: system
# Identity, operating system, processors, memory, firmware and Secure Boot,
# pending reboot signals, hibernation and Fast Startup. Windows PowerShell 5.1
# (Windows Server 2012 R2 and later). Prints one JSON object.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$problems = New-Object System.Collections.ArrayList

function Get-Class([string]$Class, [string]$Filter) {
    # CIM first; the DCOM-based WMI cmdlets where CIM fails (seen on 2012 R2).
    try {
        if ($Filter) { Get-CimInstance -ClassName $Class -Filter $Filter } else { Get-CimInstance -ClassName $Class }
    } catch {
        if ($Filter) { Get-WmiObject -Class $Class -Filter $Filter } else { Get-WmiObject -Class $Class }
    }
}

function Add-Problem([string]$Step, $ErrorRecord) {
    [void]$problems.Add([pscustomobject]@{ Step = $Step; Message = [string]$ErrorRecord.Exception.Message })
}

function Test-RegistryKey([string]$Path) { Test-Path -LiteralPath $Path }

function Get-RegistryValue([string]$Path, [string]$Name) {
    $item = Get-ItemProperty -LiteralPath $Path -Name $Name -ErrorAction SilentlyContinue
    if ($item) { $item.$Name } else { $null }
}

$cs = Get-Class Win32_ComputerSystem | Select-Object Name, DNSHostName, Domain, PartOfDomain, Workgroup, Manufacturer, Model, TotalPhysicalMemory, NumberOfProcessors, NumberOfLogicalProcessors, HypervisorPresent
$product = Get-Class Win32_ComputerSystemProduct | Select-Object UUID, Vendor, Name
$bios = Get-Class Win32_BIOS | Select-Object SerialNumber, Manufacturer, SMBIOSBIOSVersion, ReleaseDate
$os = Get-Class Win32_OperatingSystem | Select-Object Caption, Version, BuildNumber, OSArchitecture, OperatingSystemSKU, ProductType, InstallDate, LastBootUpTime, TotalVisibleMemorySize, FreePhysicalMemory, SizeStoredInPagingFiles
# One object per socket: a single object on a one-socket machine, an array otherwise.
$cpu = Get-Class Win32_Processor | Select-Object SocketDesignation, Name, Manufacturer, NumberOfCores, NumberOfLogicalProcessors, MaxClockSpeed

# Firmware: 1 BIOS, 2 UEFI (PEFirmwareType); Secure Boot true/false, null when unknown.
$firmwareType = Get-RegistryValue 'HKLM:\System\CurrentControlSet\Control' 'PEFirmwareType'
$secureBoot = $null
try {
    $secureBoot = [bool](Confirm-SecureBootUEFI)
} catch {
    if ($_.Exception.Message -like '*not supported on this platform*') { $secureBoot = $false }
    else { Add-Problem 'secureboot' $_ }
}

$timeZone = $null
try { $timeZone = [System.TimeZoneInfo]::Local.Id } catch { Add-Problem 'timezone' $_ }

$reboot = [pscustomobject]@{
    ComponentBasedServicing = Test-RegistryKey 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'
    WindowsUpdate = Test-RegistryKey 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
    PendingFileRenameOperations = [bool](Get-RegistryValue 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' 'PendingFileRenameOperations')
    ComputerRename = ((Get-RegistryValue 'HKLM:\SYSTEM\CurrentControlSet\Control\ComputerName\ActiveComputerName' 'ComputerName') -ne (Get-RegistryValue 'HKLM:\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName' 'ComputerName'))
}

$power = [pscustomobject]@{
    HibernateEnabled = Get-RegistryValue 'HKLM:\SYSTEM\CurrentControlSet\Control\Power' 'HibernateEnabled'
    HiberbootEnabled = Get-RegistryValue 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Power' 'HiberbootEnabled'
}

[pscustomobject]@{
    ComputerSystem = $cs
    Product = $product
    BIOS = $bios
    OperatingSystem = $os
    TimeZone = $timeZone
    Processors = $cpu
    FirmwareType = $firmwareType
    SecureBoot = $secureBoot
    Reboot = $reboot
    Power = $power
    Problems = @($problems)
} | ConvertTo-Json -Depth 4
