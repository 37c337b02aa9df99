extension String {
    /// Text a host sent (a hostname, a marker's content), fit for a terminal or a report: control
    /// and non-ASCII characters escaped, so a hostile host cannot move the cursor, recolour or
    /// hide lines of the operator's output; cut at 120 characters.
    var shownAsUntrusted: String {
        var shown = ""
        for scalar in unicodeScalars.prefix(120) {
            if scalar.isASCII, scalar.value >= 0x20, scalar.value != 0x7f {
                shown.unicodeScalars.append(scalar)
            } else {
                shown += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return unicodeScalars.count > 120 ? shown + "…" : shown
    }
}
