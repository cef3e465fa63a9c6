#pragma once

// Files that appear whole or not at all: everything the library and its programs write
// goes to a temporary next to its destination and is renamed into place at the end, so
// an interrupted or failed write never leaves a half-written file behind.

#include <functional>
#include <string>
#include <string_view>

namespace mapinverse {

/// The suffix of the temporary a write goes to: "out.png" is written as
/// "out.png.partial" (in the same folder, so that the rename stays on one file system).
inline constexpr std::string_view kTemporarySuffix = ".partial";

/// `path` + kTemporarySuffix.
std::string temporary_path(const std::string& path);

/// Calls `write(temporary)`, which must create temporary_path(path) (a file, or a
/// folder with its contents), then renames the temporary over `path`. A temporary left
/// by an earlier, interrupted write is removed first. If `write` throws, its exception
/// propagates; if the rename fails, std::runtime_error "cannot write '<path>': <reason>"
/// (prefixed by "<where>: " when `where` is given). Either way the temporary is removed.
/// Renaming a folder over an existing empty folder replaces it.
void write_atomically(const std::string& path,
                      const std::function<void(const std::string& temporary)>& write,
                      std::string_view where = {});

/// Writes `contents` (bytes, unchanged) to the file `path` through write_atomically();
/// std::runtime_error "cannot write '<path>': <reason>" when that fails.
void write_file_atomically(const std::string& path, std::string_view contents,
                           std::string_view where = {});

}  // namespace mapinverse
