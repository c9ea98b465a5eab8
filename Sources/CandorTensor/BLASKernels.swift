import COpenBLAS
import Foundation

/// The kernels OpenBLAS chose for this CPU. OpenBLAS picks them by the CPU's model when it
/// loads, and a release that does not know a newer CPU falls back to old ones: 0.3.21 (Debian
/// 12's) runs Sapphire Rapids, which has AVX-512, on its SSE3 kernels (`Prescott`), a quarter
/// slower on a text model's explanation than its AVX-512 ones (bench/text_lig.py). The choice
/// can only be made before the library loads, by the `OPENBLAS_CORETYPE` environment variable.
public enum BLASKernels {
    /// OpenBLAS's name for the kernels in use (`Haswell`, `SkylakeX`, `Prescott`, …).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The kernels this CPU could run instead, when OpenBLAS fell back to SSE-era ones on a CPU
    /// with AVX2 or AVX-512 (from /proc/cpuinfo's flags; nil elsewhere or when the kernels fit).
    public static var betterCoreName: String? {
        let oldKernels: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Katmai", "Coppermine", "Northwood"]
        guard oldKernels.contains(coreName),
            let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let present = Set(flags.split(separator: " ").map(String.init))
        if present.contains("avx512f") { return "SkylakeX" }
        if present.contains("avx2") { return "Haswell" }
        return nil
    }
}
