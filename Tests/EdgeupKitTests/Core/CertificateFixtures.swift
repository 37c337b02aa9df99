// Certificates generated once with the openssl CLI (2026-12-03) for the certificate tests: their
// dates are fixed, so the tests compare exact values. No private key is kept.
enum CertificateFixtures {
    /// EC P-256 CA, CN=k3s-client-ca@1700000000, notAfter 2036-11-30 13:35:35Z (2111664935).
    static let authority = """
        -----BEGIN CERTIFICATE-----
        MIIBmzCCAUGgAwIBAgIULEZrltizZvN+1fObj4qw+N7OQbMwCgYIKoZIzj0EAwIw
        IzEhMB8GA1UEAwwYazNzLWNsaWVudC1jYUAxNzAwMDAwMDAwMB4XDTI2MTIwMzEz
        MzUzNVoXDTM2MTEzMDEzMzUzNVowIzEhMB8GA1UEAwwYazNzLWNsaWVudC1jYUAx
        NzAwMDAwMDAwMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEwz2NOQnncLcvOzS0
        iZcL6LW8TKJdnPvmGdKQcG4cxRg+RWaED9zxYoy9O0ApIBjxOQiwxGF8aMNfW4lH
        js96XqNTMFEwHQYDVR0OBBYEFHO75fJg1o4sbsOBSzTNfgLWXpMSMB8GA1UdIwQY
        MBaAFHO75fJg1o4sbsOBSzTNfgLWXpMSMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
        zj0EAwIDSAAwRQIgUJ+WmY9Y/aZjEzCjS8ZbOuQGh+XmWV2f0aBccPdiExkCIQCd
        mSJdjwzzAIvYPumT55tbdas2jEaCbieN1a18q84eTA==
        -----END CERTIFICATE-----
        """

    /// Signed by `authority`: O=system:masters, CN=system:admin, notAfter 2027-12-03 13:35:35Z
    /// (1827840935), like k3s's client-admin.crt.
    static let adminLeaf = """
        -----BEGIN CERTIFICATE-----
        MIIBTDCB9AIUQM06L/hT+0ng2bLfvCr5YRctirEwCgYIKoZIzj0EAwIwIzEhMB8G
        A1UEAwwYazNzLWNsaWVudC1jYUAxNzAwMDAwMDAwMB4XDTI2MTIwMzEzMzUzNVoX
        DTI3MTIwMzEzMzUzNVowMDEXMBUGA1UECgwOc3lzdGVtOm1hc3RlcnMxFTATBgNV
        BAMMDHN5c3RlbTphZG1pbjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABOagKMwA
        SSv8AWV+Y7SSjvf6L7kN7DIGmadAVUDwi9oU6a/ChitEOzBX4zn1rDvY0NC5ESLp
        ahwk8kuM+CoPtPowCgYIKoZIzj0EAwIDRwAwRAIgTUfAuoNX6hVprGDRrqfb1rVF
        DVL9eJiiJeu+ZfbUukQCIFkthC24k6ft6M5fNjlgqqp7JXbWJtfTuy3QRmvPiHx0
        -----END CERTIFICATE-----
        """

    /// Self-signed, CN=far future ☃ (UTF8String), notAfter 2054-04-20 13:35:41Z (2660304941): a
    /// GeneralizedTime, as RFC 5280 writes dates from 2050.
    static let farFuture = """
        -----BEGIN CERTIFICATE-----
        MIIBiTCCAS+gAwIBAgIUEDIlWayQjHfUgD0BQyvZROcipAMwCgYIKoZIzj0EAwIw
        GTEXMBUGA1UEAwwOZmFyIGZ1dHVyZSDimIMwIBcNMjYxMjAzMTMzNTQxWhgPMjA1
        NDA0MjAxMzM1NDFaMBkxFzAVBgNVBAMMDmZhciBmdXR1cmUg4piDMFkwEwYHKoZI
        zj0CAQYIKoZIzj0DAQcDQgAEWihZZHjswCPOANF+uWnYqSzQtbEFaqf5b6boBHbW
        /SNpOdf3iCIcOr5xUK+vWHUK4R6/mi4X91La0gLx9tgCi6NTMFEwHQYDVR0OBBYE
        FBxsU8DrDvxLbkgYEwaQ7l8Y068lMB8GA1UdIwQYMBaAFBxsU8DrDvxLbkgYEwaQ
        7l8Y068lMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgBLYsTLTl
        NZ89B2JJ8uUXWf24RWUdtBEae/BETg05OrYCIQDgzWdAzTGgdm2AJGIIPfCTqnCr
        XvNrX9CoJOTWZRdDgA==
        -----END CERTIFICATE-----
        """
}
