/// Reads an explain request's `Accept` header: a client that asks for `image/png` (or
/// `image/svg+xml`, or `image/*`) and not for JSON gets the picture of its one explanation
/// itself, e.g. `curl -H 'Accept: image/png' ... > heatmap.png`.
enum PictureNegotiation {
    static let pictureTypes: Set<String> = ["image/png", "image/svg+xml"]

    /// The picture types the client takes, or nil when it takes JSON (or says nothing).
    /// Media ranges with `q=0` are refusals and count for nothing.
    static func acceptedPictureTypes(_ values: [String]) -> Set<String>? {
        var accepted: Set<String> = []
        for (type, quality) in QualityList.parse(values) where quality > 0 {
            switch type {
            case "application/json", "application/*", "*/*": return nil
            case "image/*": accepted.formUnion(pictureTypes)
            case _ where pictureTypes.contains(type): accepted.insert(type)
            default: continue
            }
        }
        return accepted.isEmpty ? nil : accepted
    }
}
