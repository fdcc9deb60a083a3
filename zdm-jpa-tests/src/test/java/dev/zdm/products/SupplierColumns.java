package dev.zdm.products;

import org.springframework.data.jpa.repository.JpaRepository;

interface SupplierColumns extends JpaRepository<ProductSupplierColumnEntity, Long> {

}
