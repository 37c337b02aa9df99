import EdgeupKit
import Foundation
import Testing

/// YAML aliases are capped where inventories and playbooks are read: a "billion laughs" file is an
/// error at the alias that blows up, not a process that eats the operator's memory (issue #12).
@Suite struct YAMLExpansionTests {
    /// Nine values, then `levels - 1` lists of nine aliases to the list before: 9^levels values.
    static func laughs(levels: Int, indent: String = "    ") -> String {
        var lines = [indent + "l1: &l1 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for level in 2...levels {
            let alias = "*l\(level - 1)"
            lines.append(indent + "l\(level): &l\(level) [" + Array(repeating: alias, count: 9).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n")
    }

    static func inventory(levels: Int) -> String {
        """
        defaults:
          values:
        \(laughs(levels: levels))
        stores: [{name: s1, hosts: [{address: 10.0.0.1, role: server}]}]
        """
    }

    @Test func billionLaughsInventoryIsRefusedAtTheAliasThatBlowsUp() {
        let text = Self.inventory(levels: 9)
        #expect(text.utf8.count < 700, "the classic: 9^9 values from a few hundred bytes")
        // l7 = 9^7 values is the first to pass 1,000,000: the error points at its line.
        let error = expectError(load(text), containing: "YAML aliases expand this document to more than 1000000 values", at: (9, 9))
        #expect(error?.hint?.contains("aliases of aliases multiply") == true)
    }

    /// 9^7 values: over the limit, yet small enough that the unbounded reader it replaces
    /// loads it (slowly) rather than exhausting the machine, so this fails without the cap.
    @Test func expansionPastTheLimitIsRefusedEvenWhenItWouldFit() {
        expectError(load(Self.inventory(levels: 7)), containing: "YAML aliases expand this document", at: (9, 9))
    }

    /// Yams hashes mapping keys while composing: an alias of the 9^9 tree as a key would cost
    /// minutes of CPU before any count could run, so it is refused from the text.
    @Test func aliasOfATreeAsAKeyIsRefusedBeforeComposing() {
        let text = Self.inventory(levels: 9).replacingOccurrences(of: "\nstores:", with: "\n    ? *l9\n    : boom\nstores:")
        expectError(load(text), containing: "an alias (*l9) is used as a key", at: (12, 7))
        let flow = "defaults: {values: {a: &a [x], b: {*a : y}}}\nstores: [{name: s1, hosts: [{address: 10.0.0.1, role: server}]}]\n"
        expectError(load(flow), containing: "an alias (*a) is used as a key", at: (1, 36))
        // A '*' and a '&' in ordinary text are not aliases.
        let plain = "defaults: {values: {note: \"R&D *a: b\"}}\nstores: [{name: s1, hosts: [{address: 10.0.0.1, role: server}]}]\n"
        #expect(load(plain).errors.isEmpty, "\(load(plain).errors)")
    }

    @Test func playbooksShareTheCap() {
        let stores = try! load("""
            defaults: {playbooks: [laughs]}
            stores: [{name: s1, hosts: [{address: 10.0.0.1, role: server}]}]
            """).get().stores
        let playbook = "values:\n" + Self.laughs(levels: 9, indent: "  ") + "\nsteps: []\n"
        let (_, problems) = PlaybookLibrary.load(for: stores, searchPath: ["/pb"], readFile: { $0 == "/pb/laughs.yaml" ? playbook : nil })
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.description.hasPrefix("/pb/laughs.yaml:8:") == true, "\(problems)")
        #expect(problems.first?.message.contains("YAML aliases expand this document to more than 1000000 values") == true)
    }

    @Test func realAnchorsAndMergeKeysStayWellWithinTheCap() throws {
        // A large fleet written with anchors: 2,000 stores whose hosts share the store's labels.
        var text = "stores:\n"
        for index in 1...2000 {
            text += "  - {name: s\(index), labels: &l\(index) {region: eu, tier: small}, hosts: "
                + "[{address: 10.\(index / 250).\(index % 250).1, role: server, labels: *l\(index)}, "
                + "{address: 10.\(index / 250).\(index % 250).2, role: agent, labels: *l\(index)}]}\n"
        }
        let inventory = try load(text).get()
        #expect(inventory.stores.count == 2000)
        #expect(inventory.stores[1999].hosts[1].labels["tier"] == "small")
    }
}
