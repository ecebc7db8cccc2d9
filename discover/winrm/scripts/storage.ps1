# shift-probe: storage
# Disks, partitions, volumes, the NTFS dirty bit, dynamic (LDM) disks and
# BitLocker. Uses the Storage module (Windows Server 2012 and later). Never
# reads BitLocker key protectors: only the state properties are selected.
# Prints one JSON object.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$problems = New-Object System.Collections.ArrayList

function Add-Problem([string]$Step, $ErrorRecord) {
    [void]$problems.Add([pscustomobject]@{ Step = $Step; Message = [string]$ErrorRecord.Exception.Message })
}

function Get-Class([string]$Class) {
    try { Get-CimInstance -ClassName $Class } catch { Get-WmiObject -Class $Class }
}

# PartitionStyle, BusType, HealthStatus and OperationalStatus come out as
# strings: Storage.types.ps1xml turns the numbers into names.
$disks = @(Get-Disk | Select-Object Number, FriendlyName, SerialNumber, Manufacturer, Model,
    @{ n = 'BusType'; e = { [string]$_.BusType } }, Size, LogicalSectorSize, PartitionStyle,
    IsBoot, IsSystem, IsClustered, IsReadOnly, IsOffline, Guid, Signature)

# Built with [pscustomobject]@{} so that AccessPaths stays an array even
# with one path; [char]0 (no letter) becomes "\u0000".
$partitions = @(Get-Partition | ForEach-Object {
    [pscustomobject]@{
        DiskNumber = $_.DiskNumber
        PartitionNumber = $_.PartitionNumber
        Offset = $_.Offset
        Size = $_.Size
        Type = [string]$_.Type
        GptType = $_.GptType
        Guid = $_.Guid
        MbrType = $_.MbrType
        IsActive = $_.IsActive
        IsBoot = $_.IsBoot
        IsSystem = $_.IsSystem
        DriveLetter = [string]$_.DriveLetter
        AccessPaths = @($_.AccessPaths)
    }
})

$volumes = @(Get-Volume | Select-Object @{ n = 'DriveLetter'; e = { [string]$_.DriveLetter } }, FileSystem, FileSystemLabel, Size, SizeRemaining, UniqueId, HealthStatus, DriveType)

$dirty = @()
try {
    $dirty = @(Get-Class Win32_Volume | Select-Object DeviceID, DriveLetter, DirtyBitSet)
} catch { Add-Problem 'dirtybit' $_ }

# Dynamic disks: their partitions are of type "Logical Disk Manager".
$diskPartitions = @()
try {
    $diskPartitions = @(Get-Class Win32_DiskPartition | Select-Object DiskIndex, Index, Type)
} catch { Add-Problem 'diskpartitions' $_ }

$bitlocker = $null
if (Get-Command -Name Get-BitLockerVolume -ErrorAction SilentlyContinue) {
    try {
        $bitlocker = @(Get-BitLockerVolume | Select-Object MountPoint, VolumeType, VolumeStatus, ProtectionStatus, LockStatus, EncryptionMethod, EncryptionPercentage)
    } catch { Add-Problem 'bitlocker' $_ }
}

[pscustomobject]@{
    Disks = $disks
    Partitions = $partitions
    Volumes = $volumes
    Win32Volumes = $dirty
    DiskPartitions = $diskPartitions
    BitLocker = $bitlocker
    Problems = @($problems)
} | ConvertTo-Json -Depth 4
