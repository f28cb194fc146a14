//! An in-memory Okapi BM25 index over weighted term lists.
//!
//! Documents are given as `(term, weight)` pairs so callers can weight fields (a table name
//! counts more than a sample value) by giving a term a larger weight instead of repeating it.
//! Scoring walks only the postings of the query's terms.

use std::collections::HashMap;

/// BM25 term-frequency saturation.
const K1: f32 = 1.2;
/// BM25 length normalisation.
const B: f32 = 0.75;

/// A BM25 index; documents are numbered in the order they were added.
#[derive(Debug, Clone, Default)]
pub struct Bm25Index {
    postings: HashMap<String, Vec<(usize, f32)>>,
    doc_len: Vec<f32>,
    total_len: f32,
}

impl Bm25Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a document and returns its number.
    pub fn add<I, S>(&mut self, weighted_terms: I) -> usize
    where
        I: IntoIterator<Item = (S, f32)>,
        S: Into<String>,
    {
        let doc = self.doc_len.len();
        let mut tf: HashMap<String, f32> = HashMap::new();
        let mut len = 0.0;
        for (term, weight) in weighted_terms {
            *tf.entry(term.into()).or_default() += weight;
            len += weight;
        }
        for (term, freq) in tf {
            self.postings.entry(term).or_default().push((doc, freq));
        }
        self.doc_len.push(len);
        self.total_len += len;
        doc
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.doc_len.len()
    }

    /// Whether no document was added.
    pub fn is_empty(&self) -> bool {
        self.doc_len.is_empty()
    }

    /// Scores every document matching at least one query term; best first, ties by document number.
    pub fn search(&self, query_terms: &[String]) -> Vec<(usize, f32)> {
        let n = self.doc_len.len() as f32;
        if n == 0.0 {
            return Vec::new();
        }
        let avg_len = (self.total_len / n).max(f32::EPSILON);
        let mut seen: Vec<&str> = Vec::new();
        let mut scores: HashMap<usize, f32> = HashMap::new();
        for term in query_terms {
            // A term repeated in the question counts once: questions are short and repeats are noise.
            if seen.contains(&term.as_str()) {
                continue;
            }
            seen.push(term);
            let Some(postings) = self.postings.get(term) else { continue };
            let df = postings.len() as f32;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(doc, tf) in postings {
                let norm = K1 * (1.0 - B + B * self.doc_len[doc] / avg_len);
                *scores.entry(doc).or_default() += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let mut ranked: Vec<(usize, f32)> = scores.into_iter().filter(|(_, s)| *s > 0.0).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(words: &str) -> Vec<(String, f32)> {
        words.split_whitespace().map(|w| (w.to_string(), 1.0)).collect()
    }

    fn q(words: &str) -> Vec<String> {
        words.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn rarer_terms_weigh_more() {
        let mut index = Bm25Index::new();
        index.add(doc("order customer amount"));
        index.add(doc("order product price"));
        index.add(doc("order invoice amount"));
        let ranked = index.search(&q("order product"));
        assert_eq!(ranked[0].0, 1);
        assert_eq!(ranked.len(), 3);
    }

    #[test]
    fn weights_act_like_repeats_and_saturate() {
        let mut index = Bm25Index::new();
        index.add(vec![("album".to_string(), 3.0), ("track".to_string(), 1.0)]);
        index.add(doc("album track track track"));
        let ranked = index.search(&q("album"));
        assert_eq!(ranked[0].0, 0);
        let ranked = index.search(&q("track"));
        assert_eq!(ranked[0].0, 1);
    }

    #[test]
    fn no_match_and_empty_index_give_nothing() {
        let mut index = Bm25Index::new();
        assert!(index.search(&q("x")).is_empty());
        index.add(doc("a b"));
        assert!(index.search(&q("zzz")).is_empty());
        assert_eq!(index.len(), 1);
    }
}
