/// The words generated events are made of.
///
/// Tables are `StaticString` where events use them often, so the fast path
/// copies their bytes without building a `String`. Every entry is plain JSON
/// text (no quote, backslash or control character; the tests check), and
/// every code is real: ISO 3166-1 countries, ISO 4217 currencies, IANA zones.
/// Company, institution and people names are invented.
enum Vocabulary {
    struct Currency: Sendable {
        let code: StaticString
        /// Typical salary in this currency per US dollar of a US salary.
        let salaryScale: Double
        /// False for currencies without a minor unit in practice (JPY).
        let hasCents: Bool
    }

    static let currencies: [Currency] = [
        Currency(code: "USD", salaryScale: 1.0, hasCents: true),      // 0
        Currency(code: "EUR", salaryScale: 0.8, hasCents: true),      // 1
        Currency(code: "GBP", salaryScale: 0.7, hasCents: true),      // 2
        Currency(code: "CAD", salaryScale: 1.15, hasCents: true),     // 3
        Currency(code: "AUD", salaryScale: 1.3, hasCents: true),      // 4
        Currency(code: "INR", salaryScale: 22.0, hasCents: true),     // 5
        Currency(code: "SGD", salaryScale: 1.2, hasCents: true),      // 6
        Currency(code: "CHF", salaryScale: 1.1, hasCents: true),      // 7
        Currency(code: "SEK", salaryScale: 7.5, hasCents: true),      // 8
        Currency(code: "PLN", salaryScale: 2.6, hasCents: true),      // 9
        Currency(code: "BRL", salaryScale: 2.8, hasCents: true),      // 10
        Currency(code: "JPY", salaryScale: 95.0, hasCents: false),    // 11
        Currency(code: "ZAR", salaryScale: 9.0, hasCents: true),      // 12
        Currency(code: "MXN", salaryScale: 6.5, hasCents: true),      // 13
    ]

    /// The three currencies a placement abroad is usually paid in.
    static let majorCurrencies: [Int] = [0, 1, 2]

    struct City: Sendable {
        let name: StaticString
        let country: StaticString
        let timezone: StaticString
        let currency: Int
        /// Standard-time offset, used only to put events at plausible local hours.
        let utcOffsetMinutes: Int
        let callingCode: StaticString
        let weight: Int
    }

    static let cities: [City] = [
        City(name: "New York", country: "US", timezone: "America/New_York", currency: 0, utcOffsetMinutes: -300, callingCode: "1", weight: 9),
        City(name: "San Francisco", country: "US", timezone: "America/Los_Angeles", currency: 0, utcOffsetMinutes: -480, callingCode: "1", weight: 6),
        City(name: "Seattle", country: "US", timezone: "America/Los_Angeles", currency: 0, utcOffsetMinutes: -480, callingCode: "1", weight: 4),
        City(name: "Chicago", country: "US", timezone: "America/Chicago", currency: 0, utcOffsetMinutes: -360, callingCode: "1", weight: 5),
        City(name: "Austin", country: "US", timezone: "America/Chicago", currency: 0, utcOffsetMinutes: -360, callingCode: "1", weight: 4),
        City(name: "Denver", country: "US", timezone: "America/Denver", currency: 0, utcOffsetMinutes: -420, callingCode: "1", weight: 3),
        City(name: "Atlanta", country: "US", timezone: "America/New_York", currency: 0, utcOffsetMinutes: -300, callingCode: "1", weight: 3),
        City(name: "Boston", country: "US", timezone: "America/New_York", currency: 0, utcOffsetMinutes: -300, callingCode: "1", weight: 3),
        City(name: "Phoenix", country: "US", timezone: "America/Phoenix", currency: 0, utcOffsetMinutes: -420, callingCode: "1", weight: 2),
        City(name: "Honolulu", country: "US", timezone: "Pacific/Honolulu", currency: 0, utcOffsetMinutes: -600, callingCode: "1", weight: 1),
        City(name: "London", country: "GB", timezone: "Europe/London", currency: 2, utcOffsetMinutes: 0, callingCode: "44", weight: 8),
        City(name: "Manchester", country: "GB", timezone: "Europe/London", currency: 2, utcOffsetMinutes: 0, callingCode: "44", weight: 3),
        City(name: "Edinburgh", country: "GB", timezone: "Europe/London", currency: 2, utcOffsetMinutes: 0, callingCode: "44", weight: 2),
        City(name: "Bristol", country: "GB", timezone: "Europe/London", currency: 2, utcOffsetMinutes: 0, callingCode: "44", weight: 2),
        City(name: "Berlin", country: "DE", timezone: "Europe/Berlin", currency: 1, utcOffsetMinutes: 60, callingCode: "49", weight: 5),
        City(name: "München", country: "DE", timezone: "Europe/Berlin", currency: 1, utcOffsetMinutes: 60, callingCode: "49", weight: 3),
        City(name: "Paris", country: "FR", timezone: "Europe/Paris", currency: 1, utcOffsetMinutes: 60, callingCode: "33", weight: 5),
        City(name: "Lyon", country: "FR", timezone: "Europe/Paris", currency: 1, utcOffsetMinutes: 60, callingCode: "33", weight: 2),
        City(name: "Madrid", country: "ES", timezone: "Europe/Madrid", currency: 1, utcOffsetMinutes: 60, callingCode: "34", weight: 3),
        City(name: "Barcelona", country: "ES", timezone: "Europe/Madrid", currency: 1, utcOffsetMinutes: 60, callingCode: "34", weight: 3),
        City(name: "Amsterdam", country: "NL", timezone: "Europe/Amsterdam", currency: 1, utcOffsetMinutes: 60, callingCode: "31", weight: 3),
        City(name: "Dublin", country: "IE", timezone: "Europe/Dublin", currency: 1, utcOffsetMinutes: 0, callingCode: "353", weight: 3),
        City(name: "Lisbon", country: "PT", timezone: "Europe/Lisbon", currency: 1, utcOffsetMinutes: 0, callingCode: "351", weight: 2),
        City(name: "Milan", country: "IT", timezone: "Europe/Rome", currency: 1, utcOffsetMinutes: 60, callingCode: "39", weight: 2),
        City(name: "Helsinki", country: "FI", timezone: "Europe/Helsinki", currency: 1, utcOffsetMinutes: 120, callingCode: "358", weight: 1),
        City(name: "Vienna", country: "AT", timezone: "Europe/Vienna", currency: 1, utcOffsetMinutes: 60, callingCode: "43", weight: 1),
        City(name: "Toronto", country: "CA", timezone: "America/Toronto", currency: 3, utcOffsetMinutes: -300, callingCode: "1", weight: 3),
        City(name: "Vancouver", country: "CA", timezone: "America/Vancouver", currency: 3, utcOffsetMinutes: -480, callingCode: "1", weight: 1),
        City(name: "Sydney", country: "AU", timezone: "Australia/Sydney", currency: 4, utcOffsetMinutes: 600, callingCode: "61", weight: 2),
        City(name: "Bengaluru", country: "IN", timezone: "Asia/Kolkata", currency: 5, utcOffsetMinutes: 330, callingCode: "91", weight: 3),
        City(name: "Singapore", country: "SG", timezone: "Asia/Singapore", currency: 6, utcOffsetMinutes: 480, callingCode: "65", weight: 1),
        City(name: "Zürich", country: "CH", timezone: "Europe/Zurich", currency: 7, utcOffsetMinutes: 60, callingCode: "41", weight: 1),
        City(name: "Stockholm", country: "SE", timezone: "Europe/Stockholm", currency: 8, utcOffsetMinutes: 60, callingCode: "46", weight: 1),
        City(name: "Kraków", country: "PL", timezone: "Europe/Warsaw", currency: 9, utcOffsetMinutes: 60, callingCode: "48", weight: 1),
        City(name: "São Paulo", country: "BR", timezone: "America/Sao_Paulo", currency: 10, utcOffsetMinutes: -180, callingCode: "55", weight: 1),
        City(name: "Tokyo", country: "JP", timezone: "Asia/Tokyo", currency: 11, utcOffsetMinutes: 540, callingCode: "81", weight: 1),
        City(name: "Cape Town", country: "ZA", timezone: "Africa/Johannesburg", currency: 12, utcOffsetMinutes: 120, callingCode: "27", weight: 1),
        City(name: "Mexico City", country: "MX", timezone: "America/Mexico_City", currency: 13, utcOffsetMinutes: -360, callingCode: "52", weight: 1),
    ]

    static let cityWeights: [Int] = cities.map(\.weight)

    /// A name as shown, and the ASCII form used to build e-mail addresses and handles.
    struct Name: Sendable {
        let display: String
        let ascii: String
    }

    static let firstNames: [Name] = [
        ("Olivia", "olivia"), ("Liam", "liam"), ("Emma", "emma"), ("Noah", "noah"), ("Amelia", "amelia"),
        ("James", "james"), ("Sophia", "sophia"), ("Mateo", "mateo"), ("Isabella", "isabella"), ("Lucas", "lucas"),
        ("Mia", "mia"), ("Ethan", "ethan"), ("Chloé", "chloe"), ("José", "jose"), ("Zoë", "zoe"),
        ("Björn", "bjorn"), ("Søren", "soren"), ("Łukasz", "lukasz"), ("Ngozi", "ngozi"), ("Chidi", "chidi"),
        ("Priya", "priya"), ("Aarav", "aarav"), ("Ananya", "ananya"), ("Wei", "wei"), ("Mei", "mei"),
        ("Hiroshi", "hiroshi"), ("Yuki", "yuki"), ("Fatima", "fatima"), ("Omar", "omar"), ("Leila", "leila"),
        ("Sean", "sean"), ("Siobhán", "siobhan"), ("Lars", "lars"), ("Ingrid", "ingrid"), ("Camila", "camila"),
        ("Diego", "diego"), ("Valentina", "valentina"), ("Thiago", "thiago"), ("Aisha", "aisha"), ("Kwame", "kwame"),
        ("Hannah", "hannah"), ("Daniel", "daniel"), ("Grace", "grace"), ("Samuel", "samuel"), ("Elena", "elena"),
        ("Marco", "marco"), ("Giulia", "giulia"), ("François", "francois"), ("Anaïs", "anais"), ("Jürgen", "jurgen"),
        ("Dmitri", "dmitri"), ("Olga", "olga"), ("Tomás", "tomas"), ("Nia", "nia"), ("Jamal", "jamal"),
        ("Rachel", "rachel"), ("Michael", "michael"), ("Sarah", "sarah"), ("David", "david"), ("Laura", "laura"),
    ].map { Name(display: $0.0, ascii: $0.1) }

    static let lastNames: [Name] = [
        ("Smith", "smith"), ("Johnson", "johnson"), ("Williams", "williams"), ("Brown", "brown"), ("Garcia", "garcia"),
        ("Martínez", "martinez"), ("Rodríguez", "rodriguez"), ("Müller", "muller"), ("Schmidt", "schmidt"), ("Dubois", "dubois"),
        ("Rossi", "rossi"), ("Kowalski", "kowalski"), ("Nowak", "nowak"), ("O'Brien", "obrien"), ("Murphy", "murphy"),
        ("Nguyen", "nguyen"), ("Tanaka", "tanaka"), ("Sato", "sato"), ("Kim", "kim"), ("Chen", "chen"),
        ("Patel", "patel"), ("Sharma", "sharma"), ("Okafor", "okafor"), ("Mensah", "mensah"), ("Haddad", "haddad"),
        ("Johansson", "johansson"), ("Andersen", "andersen"), ("Silva", "silva"), ("Santos", "santos"), ("Fernández", "fernandez"),
        ("van der Berg", "vanderberg"), ("Jansen", "jansen"), ("Novák", "novak"), ("Ivanova", "ivanova"), ("Cohen", "cohen"),
        ("Taylor", "taylor"), ("Wilson", "wilson"), ("Thompson", "thompson"), ("White", "white"), ("Harris", "harris"),
        ("Lefèvre", "lefevre"), ("Bianchi", "bianchi"), ("Costa", "costa"), ("Yilmaz", "yilmaz"), ("Ahmed", "ahmed"),
        ("Walker", "walker"), ("Young", "young"), ("Hughes", "hughes"), ("Kelly", "kelly"), ("Lindqvist", "lindqvist"),
    ].map { Name(display: $0.0, ascii: $0.1) }

    static let emailDomains: [String] = ["example.com", "example.org", "example.net", "mail.example.com"]

    struct Skill: Sendable {
        let name: StaticString
        let category: StaticString
    }

    static let skills: [Skill] = [
        // technical (0...35)
        Skill(name: "Python", category: "technical"), Skill(name: "SQL", category: "technical"),
        Skill(name: "JavaScript", category: "technical"), Skill(name: "TypeScript", category: "technical"),
        Skill(name: "React", category: "technical"), Skill(name: "Node.js", category: "technical"),
        Skill(name: "Swift", category: "technical"), Skill(name: "Java", category: "technical"),
        Skill(name: "Go", category: "technical"), Skill(name: "Kotlin", category: "technical"),
        Skill(name: "C#", category: "technical"), Skill(name: "AWS", category: "technical"),
        Skill(name: "Azure", category: "technical"), Skill(name: "Google Cloud", category: "technical"),
        Skill(name: "Docker", category: "technical"), Skill(name: "Kubernetes", category: "technical"),
        Skill(name: "Terraform", category: "technical"), Skill(name: "Linux", category: "technical"),
        Skill(name: "Git", category: "technical"), Skill(name: "Machine Learning", category: "technical"),
        Skill(name: "Data Analysis", category: "technical"), Skill(name: "Statistics", category: "technical"),
        Skill(name: "Excel", category: "technical"), Skill(name: "Tableau", category: "technical"),
        Skill(name: "Power BI", category: "technical"), Skill(name: "Figma", category: "technical"),
        Skill(name: "HTML & CSS", category: "technical"), Skill(name: "REST APIs", category: "technical"),
        Skill(name: "PostgreSQL", category: "technical"), Skill(name: "Network Security", category: "technical"),
        Skill(name: "Penetration Testing", category: "technical"), Skill(name: "TensorFlow", category: "technical"),
        Skill(name: "pandas", category: "technical"), Skill(name: "Apache Spark", category: "technical"),
        Skill(name: "CI/CD", category: "technical"), Skill(name: "Google Analytics", category: "technical"),
        // soft (36...45)
        Skill(name: "Communication", category: "soft"), Skill(name: "Leadership", category: "soft"),
        Skill(name: "Teamwork", category: "soft"), Skill(name: "Problem Solving", category: "soft"),
        Skill(name: "Time Management", category: "soft"), Skill(name: "Public Speaking", category: "soft"),
        Skill(name: "Negotiation", category: "soft"), Skill(name: "Stakeholder Management", category: "soft"),
        Skill(name: "Critical Thinking", category: "soft"), Skill(name: "Mentoring", category: "soft"),
        // domain (46...57)
        Skill(name: "Agile", category: "domain"), Skill(name: "Scrum", category: "domain"),
        Skill(name: "Product Management", category: "domain"), Skill(name: "UX Research", category: "domain"),
        Skill(name: "Digital Marketing", category: "domain"), Skill(name: "SEO", category: "domain"),
        Skill(name: "Financial Modeling", category: "domain"), Skill(name: "Healthcare Compliance", category: "domain"),
        Skill(name: "Supply Chain", category: "domain"), Skill(name: "GDPR", category: "domain"),
        Skill(name: "Accounting", category: "domain"), Skill(name: "Project Management", category: "domain"),
    ]

    static func skillIndex(_ name: String) -> Int {
        guard let index = skills.firstIndex(where: { $0.name.description == name }) else {
            preconditionFailure("unknown skill \(name)")
        }
        return index
    }

    static let softSkills: [Int] = Array(36...45)

    /// Job titles, shared by profiles, programs, applications and placements.
    static let roles: [StaticString] = [
        "Software Engineer", "Frontend Developer", "Backend Developer", "Full-Stack Developer", "QA Engineer",   // 0-4
        "Data Analyst", "Business Analyst", "Financial Analyst", "Data Scientist", "Machine Learning Engineer",  // 5-9
        "UX Designer", "Product Designer", "DevOps Engineer", "Cloud Engineer", "Solutions Architect",          // 10-14
        "Product Manager", "Scrum Master", "Project Manager", "Cybersecurity Analyst", "Security Engineer",      // 15-19
        "Marketing Specialist", "Growth Marketer",                                                              // 20-21
        // Roles people come from (22...)
        "Teacher", "Registered Nurse", "Retail Store Manager", "Administrative Assistant", "Accountant",
        "Sales Representative", "Logistics Coordinator", "Hospitality Manager", "Customer Support Agent",
        "Journalist", "Graphic Designer", "Bank Teller", "Mechanical Technician", "Paralegal",
    ]

    static let formerRoles: [Int] = Array(22..<36)

    static let mentorRoles: [StaticString] = [
        "Engineering Manager", "Staff Engineer", "Principal Data Scientist", "Head of Data",
        "Design Director", "Director of Product", "Security Architect", "Marketing Director",
        "Senior Software Engineer", "Cloud Architect",
    ]

    static let recruiterRoles: [StaticString] = [
        "Technical Recruiter", "Talent Acquisition Partner", "Recruitment Consultant", "Head of Talent",
    ]

    struct Program: Sendable {
        let name: StaticString
        let targetRoles: [Int]
        let skills: [Int]
        let careerPath: StaticString
    }

    static let programs: [Program] = [
        Program(name: "Software Engineering Career Track", targetRoles: [0, 1, 2, 3, 4],
                skills: ["JavaScript", "TypeScript", "React", "Node.js", "Python", "Git", "REST APIs", "SQL", "Java", "Problem Solving"].map(skillIndex),
                careerPath: "Software Engineering"),
        Program(name: "Data Analytics Accelerator", targetRoles: [5, 6, 7],
                skills: ["SQL", "Excel", "Tableau", "Power BI", "Data Analysis", "Statistics", "Python", "Communication"].map(skillIndex),
                careerPath: "Data Analytics"),
        Program(name: "Data Science and Machine Learning", targetRoles: [8, 9],
                skills: ["Python", "Machine Learning", "Statistics", "pandas", "TensorFlow", "SQL", "Apache Spark", "Critical Thinking"].map(skillIndex),
                careerPath: "Data Science"),
        Program(name: "UX/UI Design Transition", targetRoles: [10, 11],
                skills: ["Figma", "UX Research", "HTML & CSS", "Communication", "Problem Solving", "Agile"].map(skillIndex),
                careerPath: "Design"),
        Program(name: "Cloud & DevOps Bootcamp", targetRoles: [12, 13, 14],
                skills: ["AWS", "Azure", "Docker", "Kubernetes", "Terraform", "Linux", "CI/CD", "Go", "Git"].map(skillIndex),
                careerPath: "Cloud Infrastructure"),
        Program(name: "Product Management Launchpad", targetRoles: [15, 16, 17],
                skills: ["Product Management", "Agile", "Scrum", "Stakeholder Management", "UX Research", "SQL", "Leadership", "Project Management"].map(skillIndex),
                careerPath: "Product"),
        Program(name: "Cybersecurity Career Switch", targetRoles: [18, 19],
                skills: ["Network Security", "Penetration Testing", "Linux", "Python", "GDPR", "AWS"].map(skillIndex),
                careerPath: "Security"),
        Program(name: "Digital Marketing Pro", targetRoles: [20, 21],
                skills: ["Digital Marketing", "SEO", "Google Analytics", "Excel", "Communication", "Public Speaking"].map(skillIndex),
                careerPath: "Marketing"),
    ]

    static let programWeights: [Int] = [30, 20, 10, 8, 12, 8, 6, 6]

    static let industries: [StaticString] = [
        "Technology", "Financial Services", "Healthcare", "E-commerce", "Education", "Manufacturing",
        "Consulting", "Media", "Public Sector", "Logistics", "Energy", "Telecommunications",
    ]

    static let companies: [StaticString] = [
        "Northwind Traders", "Contoso", "Fabrikam", "Brightpath Health", "Lumen Retail Group",
        "Atlas Freight", "Meridian Bank", "Quantica Software", "Helix Biotech", "Northstar Insurance",
        "Bluewave Media", "Evergreen Energy", "Cobalt Systems", "Summit Consulting", "Riverside Hospital",
        "Keystone Manufacturing", "Polar Data", "Harbor Logistics", "Crescent Telecom", "Orbit Labs",
        "Silverline Fintech", "Granite Education", "Verdant Foods", "Pinecrest Analytics", "Ironclad Security",
        "Nimbus Cloud", "Sunburst Solar", "Tidewater Shipping", "Aurora Games", "Beacon Health Partners",
        "Cascade Software", "Delta Payments", "Ember Robotics", "Foxglove Pharma", "Glacier Storage",
        "Halcyon Travel", "Indigo Retail", "Juniper Learning", "Kestrel Aerospace", "Lighthouse Nonprofit",
        "Müller & Söhne GmbH", "Café Lumière", "Nordvik AS", "Sakura Digital", "Ubuntu Fintech",
        "Vértice Consultores", "Waverly Public Library", "Xenon Networks", "Yellowtail Media", "Zephyr Mobility",
    ]

    static let providers: [StaticString] = [
        "SMATRX Academy", "Coursera", "Udemy", "edX", "Pluralsight", "LinkedIn Learning", "DataCamp",
        "freeCodeCamp", "O'Reilly", "Khan Academy", "Codecademy",
    ]

    struct Certificate: Sendable {
        let name: StaticString
        let issuer: StaticString
        /// Years of validity; 0 = does not expire.
        let validYears: Int
        let program: Int
    }

    static let certificates: [Certificate] = [
        Certificate(name: "AWS Certified Solutions Architect – Associate", issuer: "Amazon Web Services", validYears: 3, program: 4),
        Certificate(name: "AWS Certified Cloud Practitioner", issuer: "Amazon Web Services", validYears: 3, program: 4),
        Certificate(name: "Certified Kubernetes Administrator", issuer: "The Linux Foundation", validYears: 2, program: 4),
        Certificate(name: "Microsoft Certified: Azure Fundamentals", issuer: "Microsoft", validYears: 0, program: 4),
        Certificate(name: "Google Data Analytics Professional Certificate", issuer: "Google", validYears: 0, program: 1),
        Certificate(name: "Tableau Desktop Specialist", issuer: "Tableau", validYears: 0, program: 1),
        Certificate(name: "Microsoft Certified: Power BI Data Analyst Associate", issuer: "Microsoft", validYears: 1, program: 1),
        Certificate(name: "TensorFlow Developer Certificate", issuer: "Google", validYears: 3, program: 2),
        Certificate(name: "IBM Data Science Professional Certificate", issuer: "IBM", validYears: 0, program: 2),
        Certificate(name: "Google UX Design Professional Certificate", issuer: "Google", validYears: 0, program: 3),
        Certificate(name: "Meta Front-End Developer Professional Certificate", issuer: "Meta", validYears: 0, program: 0),
        Certificate(name: "Oracle Certified Professional: Java SE 17 Developer", issuer: "Oracle", validYears: 0, program: 0),
        Certificate(name: "Certified ScrumMaster", issuer: "Scrum Alliance", validYears: 2, program: 5),
        Certificate(name: "Project Management Professional (PMP)", issuer: "Project Management Institute", validYears: 3, program: 5),
        Certificate(name: "Professional Scrum Product Owner I", issuer: "Scrum.org", validYears: 0, program: 5),
        Certificate(name: "CompTIA Security+", issuer: "CompTIA", validYears: 3, program: 6),
        Certificate(name: "Certified Ethical Hacker", issuer: "EC-Council", validYears: 3, program: 6),
        Certificate(name: "Google Ads Search Certification", issuer: "Google", validYears: 1, program: 7),
        Certificate(name: "HubSpot Content Marketing Certification", issuer: "HubSpot Academy", validYears: 2, program: 7),
    ]

    static func certificates(forProgram program: Int) -> [Int] {
        certificates.indices.filter { certificates[$0].program == program }
    }

    static let certificatesByProgram: [[Int]] = programs.indices.map { certificates(forProgram: $0) }

    static let courseTitlePatterns: [(prefix: String, suffix: String)] = [
        ("", " Fundamentals"), ("Advanced ", ""), ("", " for Beginners"), ("Mastering ", ""),
        ("Practical ", ""), ("", " in Practice"), ("Introduction to ", ""), ("", " Deep Dive"),
    ]

    static let taskVerbs: [String] = [
        "Learn the basics of", "Complete a tutorial on", "Build a small project with", "Read a chapter on",
        "Practice exercises in", "Write a summary of", "Pair with a peer on", "Refactor a project using",
    ]

    static let projectTitles: [StaticString] = [
        "Personal Finance Dashboard", "Weather App", "E-commerce Storefront", "Sales Forecasting Model",
        "Hospital Readmission Analysis", "Team Chat Application", "Portfolio Website", "Inventory Tracker",
        "Movie Recommendation Engine", "Customer Churn Prediction", "Task Manager API", "Accessibility Audit",
        "Mobile Banking Redesign", "CI/CD Pipeline for Microservices", "Kubernetes Home Lab", "Phishing Detection Lab",
        "Marketing Campaign Analysis", "Onboarding Flow Redesign", "Open Data City Explorer", "Recipe Sharing Platform",
    ]

    static let mentorshipGoals: [StaticString] = [
        "Prepare for technical interviews", "Build a strong portfolio", "Negotiate a first offer",
        "Transition into tech", "Improve system design skills", "Grow leadership skills",
        "Expand my professional network", "Plan the next career step", "Get feedback on my CV",
    ]

    static let sessionTopics: [StaticString] = [
        "Career planning", "CV review", "Interview preparation", "Salary negotiation", "Technical deep dive",
        "Portfolio feedback", "Networking strategy", "System design", "Leadership", "Work-life balance",
        "First 90 days in a new role", "Mock interview debrief",
    ]

    static let careerGoals: [StaticString] = [
        "Land a role in tech within a year", "Earn an industry certification", "Move into a remote role",
        "Increase my salary by 20%", "Lead a team", "Switch industries", "Build a public portfolio",
        "Work on products that help people", "Become a specialist in my field",
    ]

    static let degrees: [StaticString] = [
        "BSc Computer Science", "BA Economics", "BA English Literature", "BSc Nursing", "MBA",
        "BEng Mechanical Engineering", "BA Psychology", "MSc Data Science", "High School Diploma",
        "BA Education", "BSc Biology", "BA Graphic Design", "BA History", "BSc Mathematics",
    ]

    static let institutions: [StaticString] = [
        "Riverside University", "Northfield College", "Lakeside Technical University", "City Community College",
        "Westbrook Institute of Technology", "Université de Valmont", "Universidad del Norte Pacífico",
        "Eastgate Polytechnic", "Hollins State University", "Kingsbridge School of Economics",
    ]

    static let employerComments: [String] = [
        "ramped up quickly and is already owning features.",
        "has strong fundamentals; needs more exposure to production incidents.",
        "exceeded our expectations in the first quarter.",
        "communicates clearly with stakeholders.",
        "is reliable, curious and asks good questions.",
        "struggled with the pace at first but improved steadily.",
        "would benefit from more practice with code reviews.",
    ]

    static let erasureReasons: [StaticString] = [
        "user request", "account deletion requested via support", "GDPR Article 17 request",
        "duplicate account cleanup",
    ]

    static let reviewerRoles: [StaticString] = ["mentor", "peer", "expert"]
    static let interviewKinds: [StaticString] = ["technical", "behavioral", "mock"]
    static let remotePreferences: [StaticString] = ["remote", "hybrid", "onsite"]
    static let employmentTypes: [StaticString] = ["full-time", "part-time", "contract", "freelance"]
    static let employmentTypeWeights: [Int] = [82, 5, 9, 4]
    static let goalPriorities: [StaticString] = ["low", "medium", "high"]
    static let taskTypes: [StaticString] = ["course", "project", "reading", "practice"]
    static let skillSources: [StaticString] = ["manual", "cv", "github", "linkedin", "assessment", "mentor"]
    static let skillSourceWeights: [Int] = [18, 5, 10, 10, 45, 12]
    static let channels: [StaticString] = ["job_board", "referral", "recruiter", "direct", "talenthub"]
    static let channelWeights: [Int] = [40, 15, 15, 15, 15]
    static let stages: [StaticString] = ["", "screening", "interview", "offer", "rejected", "withdrawn"]
}
