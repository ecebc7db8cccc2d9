# shift-probe: software
# Installed programs (the 64-bit and 32-bit Uninstall registry keys) and
# services (Win32_Service: StartMode and State as names, the logon account).
# Prints one JSON object.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Get-Class([string]$Class) {
    try { Get-CimInstance -ClassName $Class } catch { Get-WmiObject -Class $Class }
}

$uninstall = @(
    @{ Arch = 'x64'; Path = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*' },
    @{ Arch = 'x86'; Path = 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*' }
)
$software = @(foreach ($u in $uninstall) {
    Get-ItemProperty -Path $u.Path -ErrorAction SilentlyContinue |
        Where-Object { $_.DisplayName -and -not $_.SystemComponent } |
        Select-Object DisplayName, DisplayVersion, Publisher, InstallDate, @{ n = 'Arch'; e = { $u.Arch } }
})

$services = @(Get-Class Win32_Service | Select-Object Name, DisplayName, StartMode, State, DelayedAutoStart, StartName)

[pscustomobject]@{
    Software = $software
    Services = $services
} | ConvertTo-Json -Depth 3
