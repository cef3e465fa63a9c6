// The matrix's results as tables and the bar every cell must clear.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace matrix {

/// A cell that misses the bar, with the reason.
struct BarFailure {
  std::string cell;
  std::string reason;
};

/// Image cells: an accepting solver beats the operator's non-learned baseline and is
/// within `margin_db` of the best solver of its cell; a refusing one says why in one line
/// that names another registered solver. Mixture cells: closer to the exact posterior
/// than the prior is. A failed solve never passes.
std::vector<BarFailure> check_bar(const std::vector<nlohmann::json>& records,
                                  const std::vector<std::string>& solvers, double margin_db);

/// The known-failures file: one "CELL | REASON" per line ("#" starts a comment), CELL as
/// check_bar() names it, e.g. "blur-1 σy=0.1 / dps". Returns CELL -> REASON.
std::map<std::string, std::string> read_known_failures(const std::string& path);

/// The failures whose cell the known-failures list does not name.
std::vector<BarFailure> unexplained(const std::vector<BarFailure>& failures,
                                    const std::map<std::string, std::string>& known);

/// Markdown: per noise level, problems x solvers (mean PSNR, the baseline first); per
/// problem, each solver's PSNR, SSIM, calls and seconds per image; the mixture table; the
/// refusals; and the bar's failures.
std::string markdown_tables(const std::vector<nlohmann::json>& records,
                            const std::vector<std::string>& solvers,
                            const std::vector<BarFailure>& failures,
                            const std::map<std::string, std::string>& known);

}  // namespace matrix
