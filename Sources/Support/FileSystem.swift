import Foundation

/// The rest of the door to the outside: what the tools ask of the file system besides
/// reading and writing a file's bytes (InputFile, OutputFile). Each is one call, and a
/// failure keeps the system's errno for the caller's sentence.
public enum FileSystem {
    /// Removes the file: nil when it is gone (or, with `missingIsFine`, was never there),
    /// else the errno.
    public static func remove(_ path: String, missingIsFine: Bool = false) -> Int32? {
        if unlink(path) == 0 { return nil }
        let e = errno
        return missingIsFine && e == ENOENT ? nil : e
    }

    /// Renames `from` to `to`, atomically within one file system: nil when done, else the errno.
    public static func rename(_ from: String, to: String) -> Int32? {
        Foundation.rename(from, to) == 0 ? nil : errno
    }

    /// Whether `path` names a directory (following symbolic links).
    public static func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }

    /// Whether anything is at `path`.
    public static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// Every path below `dir`, relative to it, files and directories, in the file system's
    /// order (sort what you print); empty when `dir` cannot be read.
    public static func tree(_ dir: String) -> [String] {
        (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String]) ?? []
    }

    /// The process's working directory.
    public static var currentDirectory: String { FileManager.default.currentDirectoryPath }
}
