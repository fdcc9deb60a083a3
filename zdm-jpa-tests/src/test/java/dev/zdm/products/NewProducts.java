package dev.zdm.products;

import org.springframework.data.jpa.repository.JpaRepository;

interface NewProducts extends JpaRepository<NewProductEntity, Long> {

}
